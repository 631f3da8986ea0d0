//! Weight penalties (TensorFlow Playground's "Regularization"), built as a
//! loss on the tape: the optimizer sees their gradient like any other and
//! needs no special case.
//!
//! With rate λ and weights w (biases are not penalised, as in Playground):
//!
//! | kind | penalty R(w) | ∂R/∂w |
//! |---|---|---|
//! | L1 | λ Σ \|w\| | λ sign(w) (0 at w = 0) |
//! | L2 | λ · ½ Σ w² | λ w |
//!
//! Added to a mean data loss, the step of plain SGD becomes
//! `w ← w − η(∂L/∂w + ∂R/∂w)`, which is Playground's update. (Playground
//! also snaps an L1-penalised weight to 0 when a step crosses zero; a loss
//! cannot do that, so here such a weight oscillates around 0 by at most ηλ.)

use autodiff::{Error, Float, Result, Var};

use crate::param::Param;
use crate::session::Session;

/// Which penalty, if any.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Regularization {
    /// No penalty.
    #[default]
    None,
    /// λ Σ |w|: pushes weights to exactly 0 (sparse nets).
    L1,
    /// λ · ½ Σ w²: shrinks every weight in proportion to its size.
    L2,
}

impl Regularization {
    /// The lower-case name: `none`, `l1` or `l2`.
    pub fn name(self) -> &'static str {
        match self {
            Regularization::None => "none",
            Regularization::L1 => "l1",
            Regularization::L2 => "l2",
        }
    }

    /// The penalty of `weights` at `rate`, recorded on the session's tape
    /// (a scalar; `None` when there is nothing to add: no penalty, a rate of
    /// 0 or no weights).
    ///
    /// ```
    /// use autodiff::Tape;
    /// use nn::{Activation, Init, Mlp, Regularization, Session};
    /// let mlp = Mlp::<f64>::new(&[2, 3, 2], Activation::Tanh, Init::Playground, 1)?;
    /// let tape = Tape::new();
    /// let s = Session::train(&tape);
    /// let weights: Vec<_> = mlp.layers().iter().map(|l| &l.weight).collect();
    /// let penalty = Regularization::L2.penalty(&s, &weights, 0.01)?.expect("a penalty");
    /// let grads = s.grads(penalty)?;
    /// // ∂(λ·½Σw²)/∂w = λw, and the biases take no part
    /// let w = &mlp.layers()[0].weight;
    /// for (g, w) in grads.get(w).unwrap().data().iter().zip(w.value().data()) {
    ///     assert!((g - 0.01 * w).abs() < 1e-18);
    /// }
    /// assert!(grads.get(mlp.layers()[0].bias.as_ref().unwrap()).is_none());
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when `rate`
    /// is negative or not finite.
    #[track_caller]
    pub fn penalty<'t, T: Float>(
        self,
        s: &Session<'t, T>,
        weights: &[&Param<T>],
        rate: f64,
    ) -> Result<Option<Var<'t, T>>> {
        let at = std::panic::Location::caller();
        check_rate(rate).map_err(|e| e.at(at))?;
        if self == Regularization::None || rate == 0.0 || weights.is_empty() {
            return Ok(None);
        }
        let mut total: Option<Var<'t, T>> = None;
        for w in weights {
            let term = self.of(s.param(w), rate)?;
            total = Some(match total {
                Some(t) => t.add(term)?,
                None => term,
            });
        }
        Ok(total)
    }

    /// The penalty of one tensor `w` at `rate`, as a scalar on `w`'s tape:
    /// λΣ|w| (L1), λ·½Σw² (L2) or 0 (none).
    ///
    /// ```
    /// use autodiff::{Tape, Tensor};
    /// use nn::Regularization;
    /// let tape = Tape::new();
    /// let w = tape.var(Tensor::from_vec(vec![-2.0f64, 0.5], &[2])?);
    /// let l1 = Regularization::L1.of(w, 0.1)?;
    /// assert!((l1.value().item()? - 0.25).abs() < 1e-15);
    /// assert_eq!(l1.backward()?.wrt(w)?.data(), &[-0.1, 0.1]); // λ sign(w)
    /// # Ok::<(), autodiff::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Argument`](autodiff::ErrorKind::Argument) when `rate`
    /// is negative or not finite.
    #[track_caller]
    pub fn of<'t, T: Float>(self, w: Var<'t, T>, rate: f64) -> Result<Var<'t, T>> {
        let at = std::panic::Location::caller();
        check_rate(rate).map_err(|e| e.at(at))?;
        let sum = match self {
            Regularization::None => return Ok(w.tape().scalar(T::of_f64(0.0))),
            Regularization::L1 => w.abs()?.sum()?,
            Regularization::L2 => w.square()?.sum()?.mul_scalar(T::of_f64(0.5))?,
        };
        sum.mul_scalar(T::of_f64(rate))
    }
}

/// A regularisation rate must be finite and ≥ 0.
pub(crate) fn check_rate(rate: f64) -> Result<()> {
    if rate.is_finite() && rate >= 0.0 {
        Ok(())
    } else {
        Err(Error::argument(
            "Regularization::penalty",
            format!("the regularisation rate {rate} must be finite and ≥ 0"),
        ))
    }
}

impl std::fmt::Display for Regularization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Regularization {
    type Err = String;

    /// Parses `none`, `l1` or `l2` (any case).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "none" | "" => Ok(Regularization::None),
            "l1" => Ok(Regularization::L1),
            "l2" => Ok(Regularization::L2),
            _ => Err(format!(
                "unknown regularisation '{s}' (expected none, l1 or l2)"
            )),
        }
    }
}
