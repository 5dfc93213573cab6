//! Fair shares of what the server has a fixed amount of — the upload slots, the queue of
//! password checks: each holder (a user, a client address) may hold a few at once, so one
//! holder's stalled or flooding requests leave the rest to everybody else.
//!
//! A [`Share`] is given back when dropped; a holder that holds nothing takes no memory. A holder
//! refused its share is told so at once; the warning for the log is an [`Occasional`] one, so a
//! flood of refusals writes a line a second, not a line a request.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How much of one resource each holder holds now.
#[derive(Debug)]
pub struct Shares<K: Hash + Eq + Clone> {
    per_holder: usize,
    held: Mutex<HashMap<K, usize>>,
}

/// One unit of a resource, held by `holder` until dropped.
#[must_use = "the share is given back when dropped"]
#[derive(Debug)]
pub struct Share<K: Hash + Eq + Clone> {
    shares: Arc<Shares<K>>,
    holder: K,
}

impl<K: Hash + Eq + Clone> Shares<K> {
    /// Each holder may hold `per_holder` at once (at least one).
    pub fn new(per_holder: usize) -> Arc<Self> {
        Arc::new(Self {
            per_holder: per_holder.max(1),
            held: Mutex::new(HashMap::new()),
        })
    }

    /// How many each holder may hold.
    pub fn per_holder(&self) -> usize {
        self.per_holder
    }

    /// One more for `holder`, unless it already holds its share.
    pub fn take(self: &Arc<Self>, holder: K) -> Option<Share<K>> {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let count = held.entry(holder.clone()).or_insert(0);
        if *count >= self.per_holder {
            return None;
        }
        *count += 1;
        Some(Share {
            shares: self.clone(),
            holder,
        })
    }

    #[cfg(test)]
    fn holders(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl<K: Hash + Eq + Clone> Drop for Share<K> {
    fn drop(&mut self) {
        let mut held = self
            .shares
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Entry::Occupied(mut entry) = held.entry(self.holder.clone()) {
            *entry.get_mut() -= 1;
            if *entry.get() == 0 {
                entry.remove();
            }
        }
    }
}

/// A warning that may come thousands of times a second (a refused check, a failed accept),
/// written at most once a second with the number of times it came meanwhile.
#[derive(Debug, Default)]
pub struct Occasional {
    state: Mutex<(Option<Instant>, u64)>,
}

impl Occasional {
    pub const fn new() -> Self {
        Self {
            state: Mutex::new((None, 0)),
        }
    }

    /// Counts one occurrence; `Some(count)` when it is time to write it (the occurrences since
    /// the last time, this one included).
    pub fn due(&self) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (last, count) = &mut *state;
        *count += 1;
        if last.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
            return None;
        }
        *last = Some(Instant::now());
        Some(std::mem::take(count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_gets_its_share_and_no_more_and_gets_it_back() {
        let shares = Shares::new(2);
        let first = shares.take("alice").expect("first");
        let second = shares.take("alice").expect("second");
        assert!(shares.take("alice").is_none(), "alice holds her share");
        // Someone else is not held back by alice.
        let bob = shares.take("bob").expect("bob's");
        drop(first);
        let third = shares.take("alice").expect("given back");
        drop((second, third, bob));
        assert_eq!(
            shares.holders(),
            0,
            "nothing kept for holders who hold nothing"
        );
    }

    #[test]
    fn an_occasional_warning_is_due_once_a_second_with_its_count() {
        let warning = Occasional::new();
        assert_eq!(warning.due(), Some(1));
        assert_eq!(warning.due(), None);
        assert_eq!(warning.due(), None);
        let mut state = warning.state.lock().unwrap();
        state.0 = Some(Instant::now() - Duration::from_secs(2));
        drop(state);
        assert_eq!(warning.due(), Some(3));
    }
}
