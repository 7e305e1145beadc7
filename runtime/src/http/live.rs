//! Live mode: rounds run by themselves, at the wall clock's time, as a
//! replica's (or PocketIC's auto-progress): at once while messages are in
//! flight or arrive, otherwise every [`IDLE_ROUND`], so that timers fire.

use super::Shared;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The interval of rounds when nothing is in flight.
const IDLE_ROUND: Duration = Duration::from_millis(100);

pub(super) fn run_rounds(shared: &Shared) {
    while !shared.stopping.load(Ordering::SeqCst) {
        let busy = {
            let now = shared.now();
            let mut ic = shared.ic();
            if now > ic.time() {
                ic.set_time(now);
            }
            ic.tick();
            !ic.messages.is_idle()
        };
        shared.rounds.send_modify(|round| *round += 1);
        if !busy {
            let (pending, condvar) = &shared.wake;
            let guard = pending.lock().unwrap_or_else(|p| p.into_inner());
            let (mut guard, _) = condvar
                .wait_timeout_while(guard, IDLE_ROUND, |pending| !*pending)
                .unwrap_or_else(|p| p.into_inner());
            *guard = false;
        }
    }
}
