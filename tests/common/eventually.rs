//! The one way a test waits for something: [`eventually`] polls a condition on tokio's
//! clock until it holds or the patience runs out, then fails naming what it waited for
//! and what it last saw. On a paused clock (`#[tokio::test(start_paused = true)]`) its
//! sleeps cost no real time. Kept free of gateway types, so the `qgw` crate's tests
//! include this file too (`#[path]`).

use std::{fmt::Debug, future::Future, time::Duration};
use tokio::time::Instant;

/// How long [`eventually`] sleeps between two looks at its condition: short, so a test
/// goes on soon after the condition holds.
pub const POLL_STEP: Duration = Duration::from_millis(10);

/// Polls `condition` every [`POLL_STEP`] until it holds and returns what it held with;
/// panics naming `what` and the last observation once `patience` has run out.
///
/// `condition` is a closure returning `bool`, `Option<T>` or `Result<T, E>` (the `Err`
/// is the observation a failure shows), or an async closure (or one returning a future)
/// of one of those.
pub async fn eventually<Marker, C: Condition<Marker>>(
    what: &str,
    patience: Duration,
    condition: C,
) -> <C::Seen as Observation>::Held {
    eventually_every(what, patience, POLL_STEP, condition).await
}

/// [`eventually`] with its own poll step, for the few waits whose condition compares
/// two looks `step` apart (a queue that stopped moving) or holds only for moments.
pub async fn eventually_every<Marker, C: Condition<Marker>>(
    what: &str,
    patience: Duration,
    step: Duration,
    mut condition: C,
) -> <C::Seen as Observation>::Held {
    let give_up = Instant::now() + patience;
    loop {
        match condition.look().await.held() {
            Ok(held) => return held,
            Err(seen) => assert!(
                Instant::now() < give_up,
                "{what}: not within {patience:?}; last seen: {seen}"
            ),
        }
        tokio::time::sleep(step).await;
    }
}

/// What one look at a condition saw: it holds (with a value), or not yet.
pub trait Observation {
    /// What the wait returns once the condition holds.
    type Held;
    /// `Ok` once the condition holds; otherwise what was seen, for the failure message.
    fn held(self) -> Result<Self::Held, String>;
}

impl Observation for bool {
    type Held = ();
    fn held(self) -> Result<(), String> {
        if self {
            Ok(())
        } else {
            Err("false".to_owned())
        }
    }
}

impl<T> Observation for Option<T> {
    type Held = T;
    fn held(self) -> Result<T, String> {
        self.ok_or_else(|| "None".to_owned())
    }
}

impl<T, E: Debug> Observation for Result<T, E> {
    type Held = T;
    fn held(self) -> Result<T, String> {
        self.map_err(|e| format!("{e:?}"))
    }
}

/// A condition [`eventually`] can poll. `Marker` only tells the two kinds of closure
/// apart ([`Now`], [`Later`]); it is inferred.
pub trait Condition<Marker> {
    /// What one look yields.
    type Seen: Observation;
    /// Looks once.
    fn look(&mut self) -> impl Future<Output = Self::Seen>;
}

/// Marks a closure whose answer is at hand.
pub enum Now {}

/// Marks an async closure, or a closure returning a future.
pub enum Later {}

impl<F: FnMut() -> O, O: Observation> Condition<Now> for F {
    type Seen = O;
    fn look(&mut self) -> impl Future<Output = O> {
        std::future::ready(self())
    }
}

impl<F: AsyncFnMut() -> O, O: Observation> Condition<Later> for F {
    type Seen = O;
    fn look(&mut self) -> impl Future<Output = O> {
        self()
    }
}
