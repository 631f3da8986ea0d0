//! Derivatives of functions `f: Tensor → Tensor`: Jacobians by reverse and
//! by forward mode ([`Var::jacobian`] for a value already on a tape),
//! Jacobian-vector products, Hessians and Hessian-vector products.
//!
//! Forward mode uses the double-VJP trick: the recorded VJP `u ↦ Jᵀu` is
//! linear in `u`, so its own VJP with seed `v` is `(Jᵀ)ᵀv = Jv`. Second
//! derivatives differentiate a recorded gradient again (reverse over
//! reverse).

use crate::error::{Error, ErrorKind, Result, ResultExt};
use crate::float::Float;
use crate::kernels::layout;
use crate::shape::{numel, Shape};
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

impl<'t, T: Float> Var<'t, T> {
    /// The Jacobian `∂self/∂wrt`, of shape `self.shape ++ wrt.shape`, built by
    /// one reverse sweep per element of `self` (row `i` is the VJP with the
    /// `i`-th unit seed). `wrt` may be any value on the tape, not only a leaf.
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.var(Tensor::from_vec(vec![1.0, 2.0], &[2])?);
    /// let y = x.mul(x)?; // ∂y/∂x = diag(2x)
    /// assert_eq!(y.jacobian(x)?.data(), &[2.0, 0.0, 0.0, 4.0]);
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Graph`] when `wrt` is on another tape; errors of the
    /// backward rules.
    #[track_caller]
    pub fn jacobian(self, wrt: Var<'t, T>) -> Result<Tensor<T>> {
        if wrt.tape.id() != self.tape.id() {
            return Err(Error::new(
                ErrorKind::Graph,
                "jacobian",
                "the input belongs to another tape than the output",
            )
            .at_caller());
        }
        let out_shape = self.shape();
        let in_shape = wrt.shape();
        let (m, n) = (numel(&out_shape), numel(&in_shape));
        let mut jac = vec![T::zero(); m * n];
        for i in 0..m {
            let mut seed = vec![T::zero(); m];
            seed[i] = T::one();
            let seed = Tensor::from_parts(seed, out_shape.clone());
            let mut grads = self
                .tape
                .sweep_values(self.id, seed, &[wrt.id])
                .at_caller()?;
            if let Some(Some(g)) = grads.get_mut(wrt.id).map(Option::take) {
                jac[i * n..(i + 1) * n].copy_from_slice(g.data());
            }
        }
        let shape: Shape = out_shape.iter().chain(in_shape.iter()).copied().collect();
        Ok(Tensor::from_parts(jac, shape))
    }
}

/// Returns `f` unchanged, with the bound that lets a closure be stored in
/// a variable and passed to [`jacobian`], [`hessian`], [`jvp`], [`hvp`] and
/// [`jacobian_fwd`].
///
/// Each takes `f: for<'t> Fn(Var<'t, T>) -> Result<Var<'t, T>>`: a function
/// that works on a tape of any lifetime. Three ways to write one:
///
/// - a closure written in the call: `hessian(|x| x.square()?.sum(), &w)`;
/// - a `fn` item: `fn loss<'t>(x: Var<'t, f64>) -> Result<Var<'t, f64>>`;
/// - a closure kept in a variable, to use it twice (say for `f(w)` and
///   its Hessian): wrap it in [`function`]. Without it rustc fixes the
///   closure's lifetimes at its first use and then rejects it ("lifetime
///   may not live long enough"); `function` states the bound where the
///   closure is written. Pass it by reference to keep it: `hessian(&f, &w)`.
///
/// A closure may capture tensors (by reference or by `move`) and put them
/// on the tape it is given with `x.tape().constant(…)`.
///
/// ```
/// use autodiff::{function, hessian, jacobian, Result, Tape, Tensor, Var};
/// // a fn item
/// fn cube<'t>(x: Var<'t, f64>) -> Result<Var<'t, f64>> {
///     x.powi(3)?.sum()
/// }
/// let w = Tensor::from_vec(vec![1.0, 2.0], &[2])?;
/// assert_eq!(hessian(cube, &w)?.data(), &[6.0, 0.0, 0.0, 12.0]);
///
/// // a stored closure capturing a tensor, used three times
/// let a = Tensor::from_vec(vec![3.0, -1.0], &[2])?;
/// let f = function(|x: Var<'_, f64>| x.mul(x.tape().constant(a.clone()))?.square()?.sum());
/// let tape = Tape::new();
/// assert_eq!(f(tape.var(w.clone()))?.value().item()?, 9.0 + 4.0); // f(w) = Σ (a·w)²
/// assert_eq!(jacobian(&f, &w)?.data(), &[18.0, 4.0]);              // 2a²w
/// assert_eq!(hessian(&f, &w)?.data(), &[18.0, 0.0, 0.0, 2.0]);     // diag(2a²)
/// # Ok::<(), autodiff::Error>(())
/// ```
pub fn function<T, F>(f: F) -> F
where
    T: Float,
    F: for<'t> Fn(Var<'t, T>) -> Result<Var<'t, T>>,
{
    f
}

/// The Jacobian of `f` at `x`, of shape `f(x).shape ++ x.shape`, by one
/// reverse sweep per output element (JAX's `jacrev`).
///
/// ```
/// use autodiff::{jacobian, Tensor};
/// let x = Tensor::from_vec(vec![0.0, 0.0], &[2])?;
/// let j = jacobian(|z| z.softmax(-1), &x)?;
/// assert_eq!(j.data(), &[0.25, -0.25, -0.25, 0.25]); // diag(ŷ) − ŷŷᵀ at ŷ = ½
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// See [`function`] for the ways to pass `f`.
///
/// # Errors
/// Whatever `f` returns, and the errors of [`Var::jacobian`].
#[track_caller]
pub fn jacobian<T, F>(f: F, x: &Tensor<T>) -> Result<Tensor<T>>
where
    T: Float,
    F: for<'t> Fn(Var<'t, T>) -> Result<Var<'t, T>>,
{
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = f(xv)?;
    y.jacobian(xv)
}

/// The Jacobian-vector product `J·v` of `f` at `x` (forward mode, JAX's
/// `jvp`), returned with `f(x)`. `v` has `x`'s shape; `J·v` has `f(x)`'s.
///
/// ```
/// use autodiff::{jvp, Tensor};
/// let x = Tensor::from_vec(vec![1.0, 2.0], &[2])?;
/// let v = Tensor::from_vec(vec![1.0, 0.5], &[2])?;
/// let (y, jv) = jvp(|x| x.square(), &x, &v)?; // J = diag(2x)
/// assert_eq!(y.data(), &[1.0, 4.0]);
/// assert_eq!(jv.data(), &[2.0, 2.0]);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// See [`function`] for the ways to pass `f`.
///
/// # Errors
/// Whatever `f` returns; [`ErrorKind::Shape`](crate::ErrorKind::Shape)
/// when `v`'s shape is not `x`'s.
#[track_caller]
pub fn jvp<T, F>(f: F, x: &Tensor<T>, v: &Tensor<T>) -> Result<(Tensor<T>, Tensor<T>)>
where
    T: Float,
    F: for<'t> Fn(Var<'t, T>) -> Result<Var<'t, T>>,
{
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    xv.check_seed("jvp", v.shape())?;
    let y = f(xv)?;
    let (u, jt_u) = transposed_vjp(y, xv)?;
    let s = jt_u.mul(tape.constant(v.clone()))?.sum()?;
    Ok((y.value(), s.backward()?.wrt(u)?))
}

/// The Jacobian of `f` at `x` by forward mode: one Jacobian-vector product
/// per input element (column), of shape `f(x).shape ++ x.shape` — the same
/// matrix as [`jacobian`], built column by column (JAX's `jacfwd`).
///
/// ```
/// use autodiff::{jacobian, jacobian_fwd, Tensor};
/// let x = Tensor::from_vec(vec![0.3, -1.2, 2.0], &[3])?;
/// let fwd = jacobian_fwd(|x| x.tanh()?.softmax(-1), &x)?;
/// let rev = jacobian(|x| x.tanh()?.softmax(-1), &x)?;
/// assert!(fwd.max_abs_diff(&rev)? < 1e-15);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// See [`function`] for the ways to pass `f`.
///
/// # Errors
/// Whatever `f` returns.
#[track_caller]
pub fn jacobian_fwd<T, F>(f: F, x: &Tensor<T>) -> Result<Tensor<T>>
where
    T: Float,
    F: for<'t> Fn(Var<'t, T>) -> Result<Var<'t, T>>,
{
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = f(xv)?;
    let (u, jt_u) = transposed_vjp(y, xv)?;
    // ∂(Jᵀu)/∂u = Jᵀ, shape x.shape ++ y.shape; column j of J is its row j
    let jt = jt_u.jacobian(u)?;
    let (n_in, n_out) = (x.numel(), numel(&y.shape()));
    let j = layout::permute(&jt.reshape(&[n_in, n_out])?, &[1, 0]);
    let shape: Shape = y.shape().iter().chain(x.shape()).copied().collect();
    j.reshape(&shape)
}

/// The recorded `u ↦ Jᵀu` for `y = f(x)`, with `u` a tracked leaf of `y`'s
/// shape (its value, zero, does not matter: the map is linear in `u`).
#[track_caller]
fn transposed_vjp<'t, T: Float>(y: Var<'t, T>, x: Var<'t, T>) -> Result<(Var<'t, T>, Var<'t, T>)> {
    let u = y.tape().var(Tensor::zeros(&y.shape()));
    let jt_u = y.vjp_graph(u, &[x])?.wrt(x)?;
    Ok((u, jt_u))
}

/// The Hessian-vector product `H·v` of a scalar function `f` at `x`, by
/// reverse over reverse: the gradient of `⟨∇f(x), v⟩`. `v` and the result
/// have `x`'s shape.
///
/// ```
/// use autodiff::{hvp, Tensor};
/// // f(x) = Σ x³, H = diag(6x)
/// let x = Tensor::from_vec(vec![1.0, 2.0], &[2])?;
/// let v = Tensor::from_vec(vec![1.0, 1.0], &[2])?;
/// assert_eq!(hvp(|x| x.powi(3)?.sum(), &x, &v)?.data(), &[6.0, 12.0]);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// See [`function`] for the ways to pass `f`.
///
/// # Errors
/// Whatever `f` returns; [`ErrorKind::Shape`](crate::ErrorKind::Shape)
/// when `f(x)` is not a single element or `v`'s shape is not `x`'s.
#[track_caller]
pub fn hvp<T, F>(f: F, x: &Tensor<T>, v: &Tensor<T>) -> Result<Tensor<T>>
where
    T: Float,
    F: for<'t> Fn(Var<'t, T>) -> Result<Var<'t, T>>,
{
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    xv.check_seed("hvp", v.shape())?;
    let g = f(xv)?.grad(xv)?;
    let s = g.mul(tape.constant(v.clone()))?.sum()?;
    s.backward()?.wrt(xv)
}

/// The Hessian of a scalar function `f` at `x`, of shape
/// `x.shape ++ x.shape`: the recorded gradient differentiated once per
/// input element (one Hessian-vector product with each unit vector).
///
/// ```
/// use autodiff::{hessian, Tensor};
/// // f(x) = x₀² x₁, H = [[2x₁, 2x₀], [2x₀, 0]]
/// let x = Tensor::from_vec(vec![3.0, 5.0], &[2])?;
/// let h = hessian(|x| x.narrow(0, 0, 1)?.square()?.mul(x.narrow(0, 1, 1)?)?.sum(), &x)?;
/// assert_eq!(h.data(), &[10.0, 6.0, 6.0, 0.0]);
/// # Ok::<(), autodiff::Error>(())
/// ```
///
/// See [`function`] for the ways to pass `f`.
///
/// # Errors
/// Whatever `f` returns; [`ErrorKind::Shape`](crate::ErrorKind::Shape)
/// when `f(x)` is not a single element.
#[track_caller]
pub fn hessian<T, F>(f: F, x: &Tensor<T>) -> Result<Tensor<T>>
where
    T: Float,
    F: for<'t> Fn(Var<'t, T>) -> Result<Var<'t, T>>,
{
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let g = f(xv)?.grad(xv)?;
    g.jacobian(xv)
}
