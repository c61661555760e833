//! What the fused-kernel dispatches share ([`crate::fused_ssd`], [`crate::fused_conv`]): the
//! cast from a generic backend's tensor to the concrete one its TypeId matched (their
//! switches are [`crate::switch::Switch`]es).
//!
//! Why a TypeId dispatch: burn has no specialization, so a backend trait with fused methods
//! would have to bound every generic model and trainer function (about 140 of them). The
//! check costs a few comparisons per layer call; the cast after a matching TypeId cannot fail.

use std::any::Any;

/// t as type U, which the caller's TypeId check says it is.
pub(crate) fn cast<T: 'static, U: 'static>(t: T) -> U {
    *(Box::new(t) as Box<dyn Any>)
        .downcast::<U>()
        .expect("cast after a matching TypeId")
}
