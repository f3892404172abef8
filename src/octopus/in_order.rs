//! Requests sent together, their results taken in program order: the first error in the order the
//! code lists them wins, whichever answer arrived first, so a report, a snapshot or an error never
//! depends on timing. (`tokio::try_join!` and `try_join_all` return the first error to *arrive*.)
//! How many are in flight at once is the client's bound ([`super::client::MAX_IN_FLIGHT`]).

use futures::stream::{FuturesOrdered, TryStreamExt};
use std::future::Future;

/// Every future at once; their values in the order given, or the first error in that order. An
/// error is returned once everything listed before it has answered; what is listed after it is
/// dropped unanswered (its result could not be the one reported).
pub async fn all_in_order<T, E, F>(futures: impl IntoIterator<Item = F>) -> Result<Vec<T>, E>
where
    F: Future<Output = Result<T, E>>,
{
    futures
        .into_iter()
        .collect::<FuturesOrdered<F>>()
        .try_collect()
        .await
}

/// The results of `tokio::join!` (which waits for all of them), as one result: the values, or
/// the first error in the order the futures were listed.
pub trait InOrder {
    /// The values, in order.
    type Values;
    /// The error all the results share.
    type Error;
    /// The values, or the first error in program order.
    fn in_order(self) -> Result<Self::Values, Self::Error>;
}

macro_rules! in_order_for_tuples {
    ($(($($value:ident),+)),+ $(,)?) => {$(
        impl<E, $($value),+> InOrder for ($(Result<$value, E>,)+) {
            type Values = ($($value,)+);
            type Error = E;
            #[allow(non_snake_case)] // the type parameters name the tuple's items
            fn in_order(self) -> Result<Self::Values, E> {
                let ($($value,)+) = self;
                Ok(($($value?,)+))
            }
        }
    )+};
}

in_order_for_tuples!(
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, F),
    (A, B, C, D, F, G),
    (A, B, C, D, F, G, H),
    (A, B, C, D, F, G, H, I),
    (A, B, C, D, F, G, H, I, J),
    (A, B, C, D, F, G, H, I, J, K),
    (A, B, C, D, F, G, H, I, J, K, L),
    (A, B, C, D, F, G, H, I, J, K, L, M),
    (A, B, C, D, F, G, H, I, J, K, L, M, N),
);

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn answer(after_ms: u64, result: Result<u32, &'static str>) -> Result<u32, &'static str> {
        tokio::time::sleep(Duration::from_millis(after_ms)).await;
        result
    }

    /// The later-listed error answers first; the earlier-listed one is still the one reported.
    #[tokio::test]
    async fn the_first_error_in_program_order_wins_over_the_first_to_arrive() {
        let all = all_in_order([
            answer(30, Ok(1)),
            answer(20, Err("second")),
            answer(10, Err("third")),
        ])
        .await;
        assert_eq!(all, Err("second"));
        let joined = tokio::join!(answer(20, Err("first")), answer(10, Err("second"))).in_order();
        assert_eq!(joined, Err::<(u32, u32), _>("first"));
    }

    /// Values keep the order given, whatever order they answered in.
    #[tokio::test]
    async fn values_keep_their_order() {
        let all = all_in_order([answer(30, Ok(1)), answer(10, Ok(2)), answer(20, Ok(3))]).await;
        assert_eq!(all, Ok(vec![1, 2, 3]));
        let joined = tokio::join!(answer(20, Ok(1)), answer(10, Ok(2)), answer(5, Ok(3)));
        assert_eq!(joined.in_order(), Ok((1, 2, 3)));
    }
}
