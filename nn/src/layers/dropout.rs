//! [`Dropout`]: PyTorch's `Dropout`, seeded.

use std::sync::atomic::{AtomicU64, Ordering};

use autodiff::{Error, Float, Result, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::module::Module;
use crate::param::Param;
use crate::session::Session;

/// Dropout: in a training session each element is zeroed with probability
/// `p` and the rest scaled by `1/(1 − p)`, so that the expected value is
/// unchanged: `y = x ⊙ m/(1 − p)`, `m ~ Bernoulli(1 − p)`, and
/// `∂y/∂x = m/(1 − p)`. In an evaluation session it is the identity.
///
/// The masks are seeded: the k-th training forward pass of a layer built
/// with `seed` draws the k-th mask of that seed's stream, so a run is
/// repeatable. (Passes that run concurrently, as the chunks of
/// [`grads_in_chunks`](crate::chunked::grads_in_chunks) do, take the masks
/// in the order they start.)
///
/// ```
/// use autodiff::{Tape, Tensor};
/// use nn::{Dropout, Module, Session};
/// let drop = Dropout::new(0.5, 7)?;
/// let tape = Tape::new();
/// let x = Tensor::<f64>::ones(&[1, 1000]);
/// let s = Session::train(&tape);
/// let y = drop.forward(&s, s.input(x.clone()))?.value();
/// assert!(y.data().iter().all(|&v| v == 0.0 || v == 2.0)); // dropped, or scaled by 1/(1 − p)
/// let kept = y.data().iter().filter(|&&v| v == 2.0).count();
/// assert!((400..600).contains(&kept));
/// let e = Session::eval(&tape);
/// assert_eq!(drop.forward(&e, e.input(x.clone()))?.value(), x); // the identity
/// # Ok::<(), autodiff::Error>(())
/// ```
#[derive(Debug)]
pub struct Dropout {
    p: f64,
    seed: u64,
    passes: AtomicU64,
}

impl Clone for Dropout {
    fn clone(&self) -> Self {
        Dropout {
            p: self.p,
            seed: self.seed,
            passes: AtomicU64::new(self.passes.load(Ordering::Relaxed)),
        }
    }
}

impl Dropout {
    /// Dropout with probability `p` in [0, 1] and masks from `seed`.
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) for a `p`
    /// outside [0, 1] or NaN.
    #[track_caller]
    pub fn new(p: f64, seed: u64) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            return Err(
                Error::argument("Dropout", format!("probability {p} is not in [0, 1]")).at_caller(),
            );
        }
        Ok(Dropout {
            p,
            seed,
            passes: AtomicU64::new(0),
        })
    }

    /// The probability of zeroing an element.
    pub fn p(&self) -> f64 {
        self.p
    }
}

impl<T: Float> Module<T> for Dropout {
    #[track_caller]
    fn forward<'t>(&self, s: &Session<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        if !s.is_training() || self.p == 0.0 {
            return Ok(x);
        }
        let pass = self.passes.fetch_add(1, Ordering::Relaxed);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(pass);
        let keep = 1.0 - self.p;
        let scale = if keep > 0.0 {
            T::of_f64(1.0 / keep)
        } else {
            T::zero()
        };
        let shape = x.shape();
        let n: usize = shape.iter().product();
        let mask = (0..n)
            .map(|_| {
                if rng.random::<f64>() < keep {
                    scale
                } else {
                    T::zero()
                }
            })
            .collect();
        x.mul(s.tape().constant(Tensor::from_vec(mask, &shape)?))
    }

    fn visit_params(&self, _: &str, _: &mut dyn FnMut(&str, &Param<T>)) {}

    fn visit_params_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Param<T>)) {}
}
