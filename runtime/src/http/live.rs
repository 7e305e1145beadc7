//! Live mode: rounds run by themselves, at the wall clock's time, as a
//! replica's (or PocketIC's auto-progress): while messages are in flight or
//! arrive, a round every [`BUSY_ROUND`] at most, so that the calls arriving
//! meanwhile share a round and its one certificate signature; otherwise
//! every [`IDLE_ROUND`], so that timers fire.

use super::Shared;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The interval of rounds when nothing is in flight.
const IDLE_ROUND: Duration = Duration::from_millis(100);
/// The shortest interval between the starts of two rounds.
const BUSY_ROUND: Duration = Duration::from_millis(10);

pub(super) fn run_rounds(shared: &Shared) {
    while !shared.stopping.load(Ordering::SeqCst) {
        let started = Instant::now();
        let round = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let now = shared.now();
            let mut ic = shared.ic();
            if now > ic.time() {
                ic.set_time(now);
            }
            ic.tick();
            !ic.messages.is_idle()
        }));
        let Ok(busy) = round else {
            // A round that panicked left the state half-changed: the
            // network stops at once and loudly rather than serve it.
            eprintln!("icp-economy-network: a round failed; the network stops");
            std::process::exit(70);
        };
        shared.rounds.send_modify(|round| *round += 1);
        let (pending, condvar) = &shared.wake;
        let mut guard = pending.lock().unwrap_or_else(|p| p.into_inner());
        if !busy {
            guard = condvar
                .wait_timeout_while(guard, IDLE_ROUND, |pending| !*pending)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        *guard = false;
        drop(guard);
        // Calls that arrive within the round's interval wait for the next.
        if let Some(rest) = BUSY_ROUND.checked_sub(started.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}
