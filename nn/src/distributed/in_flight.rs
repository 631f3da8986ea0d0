//! [`InFlightSum`]: a non-blocking all-reduce (sum) whose buffers it owns.
//!
//! rsmpi's `immediate_all_reduce_into` ties its buffers to a borrow scope,
//! but a reduction started from a gradient hook (a `'static` closure) must
//! outlive every borrow the hook could hold. So this type owns its two
//! buffers on the heap, starts `MPI_Iallreduce` on them, and never lets them
//! go while MPI may still write: [`wait`](InFlightSum::wait) completes the
//! requests before handing the result out, and `Drop` completes them too.
//! Moving the struct moves the boxes, not the heap memory MPI points at.

use std::os::raw::c_int;

use mpi::datatype::Equivalence;
use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::topology::SimpleCommunicator;

/// Values per `MPI_Iallreduce` request: 1 Mi, far below `c_int`'s limit on
/// an MPI count.
const REQUEST_ELEMENTS: usize = 1 << 20;

/// The element-wise sum over all processes of `send` (of `f32` or `f64`),
/// in flight.
pub(crate) struct InFlightSum<W: Equivalence> {
    /// Read by MPI only: owned here so that it lives until completion.
    _send: Box<[W]>,
    receive: Box<[W]>,
    /// One request per chunk of [`REQUEST_ELEMENTS`]; `RSMPI_REQUEST_NULL`
    /// once complete.
    requests: Vec<ffi::MPI_Request>,
}

impl<W: Equivalence + Copy + Default> InFlightSum<W> {
    /// Starts summing `send` over every process of `world`. Every process
    /// must start its reductions on `world` in the same order, with buffers
    /// of the same length.
    pub(crate) fn start(world: &SimpleCommunicator, send: Box<[W]>) -> Self {
        let mut receive = vec![W::default(); send.len()].into_boxed_slice();
        let datatype = W::equivalent_datatype().as_raw();
        let mut requests = Vec::new();
        for (s, r) in send
            .chunks(REQUEST_ELEMENTS)
            .zip(receive.chunks_mut(REQUEST_ELEMENTS))
        {
            // SAFETY: the pointers are to heap buffers owned by the returned
            // value, which completes every request (in `wait` or `drop`)
            // before the buffers are freed or handed out; the count is at
            // most REQUEST_ELEMENTS and so fits a c_int; the datatype is
            // that of W (rsmpi's `Equivalence`), and the operation and the
            // communicator are valid MPI handles.
            let request = unsafe {
                let mut request = ffi::RSMPI_REQUEST_NULL;
                ffi::MPI_Iallreduce(
                    s.as_ptr().cast(),
                    r.as_mut_ptr().cast(),
                    s.len() as c_int,
                    datatype,
                    ffi::RSMPI_SUM,
                    world.as_raw(),
                    &mut request,
                );
                request
            };
            requests.push(request);
        }
        InFlightSum {
            _send: send,
            receive,
            requests,
        }
    }

    /// Lets MPI progress the reduction (MPI implementations without a
    /// progress thread advance a non-blocking collective only inside MPI
    /// calls); returns whether it is complete.
    pub(crate) fn poke(&mut self) -> bool {
        let mut complete = true;
        for request in &mut self.requests {
            let mut flag: c_int = 0;
            // SAFETY: `request` is a request started by `start` (or already
            // completed and set to MPI_REQUEST_NULL, which MPI_Test accepts).
            unsafe { ffi::MPI_Test(request, &mut flag, ffi::RSMPI_STATUS_IGNORE) };
            complete &= flag != 0;
        }
        complete
    }

    /// Waits for the reduction and returns the sums.
    pub(crate) fn wait(mut self) -> Box<[W]> {
        complete(&mut self.requests);
        std::mem::take(&mut self.receive)
    }
}

/// Waits for every request (`MPI_Wait`; a completed request is
/// `MPI_REQUEST_NULL`, for which it returns at once).
fn complete(requests: &mut [ffi::MPI_Request]) {
    for request in requests {
        // SAFETY: `request` was started by `InFlightSum::start` or is
        // MPI_REQUEST_NULL.
        unsafe { ffi::MPI_Wait(request, ffi::RSMPI_STATUS_IGNORE) };
    }
}

impl<W: Equivalence> Drop for InFlightSum<W> {
    /// Completes the reduction, so that MPI never writes into freed memory.
    fn drop(&mut self) {
        complete(&mut self.requests);
    }
}
