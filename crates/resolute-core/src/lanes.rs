//! Delivery lanes: per-target concurrency slots with start and progress times and a ceiling.
//!
//! A lane is one delivery target (a push origin, a poll group or worker). Each in-flight delivery
//! holds a slot stamped with a generation; a slot without progress past the ceiling is reclaimed
//! (only that slot), and a late completion carrying an old generation frees nothing. This is pure
//! bookkeeping with time passed in, so the dispatcher and the simulator share it.

use std::collections::BTreeMap;

use crate::model::MessageKey;
use crate::time::Timestamp;

/// Proof of holding a slot; presented again when the delivery ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub lane: String,
    pub key: MessageKey,
    pub generation: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Slot {
    generation: u64,
    started_at: Timestamp,
    last_progress_at: Timestamp,
}

#[derive(Clone, Debug, Default)]
struct Lane {
    slots: BTreeMap<MessageKey, Slot>,
    /// Deliveries refused because the lane was full since it last had room.
    refused: u64,
}

/// What a lane looks like right now, for health, metrics and the `dispatch blocked` warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneReport {
    pub lane: String,
    pub active: usize,
    pub refused: u64,
    /// Age of the oldest active slot, in ms.
    pub oldest_active_ms: Option<i64>,
}

/// A slot taken back because it made no progress within the ceiling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reclaimed {
    pub ticket: Ticket,
    pub started_at: Timestamp,
    pub idle_ms: i64,
}

#[derive(Debug, Default)]
pub struct Lanes {
    lanes: BTreeMap<String, Lane>,
    next_generation: u64,
}

/// Why a slot could not be taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// This message is already being delivered.
    InFlight,
    /// The lane has `limit` active slots.
    Full,
}

impl Lanes {
    /// Takes a slot on `lane` for `key` unless the message is in flight or the lane is full.
    pub fn try_start(
        &mut self,
        lane: &str,
        key: &MessageKey,
        limit: usize,
        now: Timestamp,
    ) -> Result<Ticket, Refusal> {
        let entry = self.lanes.entry(lane.to_owned()).or_default();
        if entry.slots.contains_key(key) {
            return Err(Refusal::InFlight);
        }
        if entry.slots.len() >= limit {
            entry.refused += 1;
            return Err(Refusal::Full);
        }
        self.next_generation += 1;
        let generation = self.next_generation;
        let slot = Slot { generation, started_at: now, last_progress_at: now };
        entry.slots.insert(key.clone(), slot);
        entry.refused = 0;
        Ok(Ticket { lane: lane.to_owned(), key: key.clone(), generation })
    }

    /// True when the message holds a slot on any lane.
    pub fn is_in_flight(&self, lane: &str, key: &MessageKey) -> bool {
        self.lanes.get(lane).is_some_and(|entry| entry.slots.contains_key(key))
    }

    /// Records progress on a delivery (bytes moved, a heartbeat); stale tickets are ignored.
    pub fn progress(&mut self, ticket: &Ticket, now: Timestamp) {
        if let Some(slot) = self.slot_mut(ticket) {
            slot.last_progress_at = now;
        }
    }

    /// Ends a delivery. Returns false when the slot was already reclaimed (or re-issued), in
    /// which case nothing is freed and the caller must not act on the outcome.
    pub fn finish(&mut self, ticket: &Ticket) -> bool {
        if self.slot_mut(ticket).is_none() {
            return false;
        }
        if let Some(entry) = self.lanes.get_mut(&ticket.lane) {
            entry.slots.remove(&ticket.key);
            if entry.slots.is_empty() && entry.refused == 0 {
                self.lanes.remove(&ticket.lane);
            }
        }
        true
    }

    /// Takes back every slot whose last progress is older than `ceiling_ms`.
    pub fn reclaim_stale(&mut self, now: Timestamp, ceiling_ms: i64) -> Vec<Reclaimed> {
        let mut reclaimed = Vec::new();
        for (lane, entry) in &mut self.lanes {
            entry.slots.retain(|key, slot| {
                let idle_ms = now.ms().saturating_sub(slot.last_progress_at.ms());
                if idle_ms <= ceiling_ms {
                    return true;
                }
                let ticket =
                    Ticket { lane: lane.clone(), key: key.clone(), generation: slot.generation };
                reclaimed.push(Reclaimed { ticket, started_at: slot.started_at, idle_ms });
                false
            });
        }
        self.lanes.retain(|_, entry| !entry.slots.is_empty() || entry.refused > 0);
        reclaimed
    }

    /// Every lane with active slots or refusals, ordered by name.
    pub fn reports(&self, now: Timestamp) -> Vec<LaneReport> {
        self.lanes
            .iter()
            .map(|(lane, entry)| LaneReport {
                lane: lane.clone(),
                active: entry.slots.len(),
                refused: entry.refused,
                oldest_active_ms: entry
                    .slots
                    .values()
                    .map(|slot| now.ms().saturating_sub(slot.started_at.ms()))
                    .max(),
            })
            .collect()
    }

    /// Deliveries refused on `lane` since it last had room (1 = a full episode just began).
    pub fn refused(&self, lane: &str) -> u64 {
        self.lanes.get(lane).map_or(0, |entry| entry.refused)
    }

    pub fn active(&self, lane: &str) -> usize {
        self.lanes.get(lane).map_or(0, |entry| entry.slots.len())
    }

    fn slot_mut(&mut self, ticket: &Ticket) -> Option<&mut Slot> {
        self.lanes
            .get_mut(&ticket.lane)?
            .slots
            .get_mut(&ticket.key)
            .filter(|slot| slot.generation == ticket.generation)
    }
}

/// Delay before retrying a failed delivery: exponential from `base_ms`, capped at `max_ms`, with
/// "equal jitter" (half fixed, half random) drawn from `random` so the caller controls randomness.
pub fn retry_delay_ms(attempts: i64, base_ms: i64, max_ms: i64, random: u64) -> i64 {
    let exponent = u32::try_from(attempts.clamp(1, 30) - 1).unwrap_or(0);
    let ceiling = base_ms.saturating_mul(1_i64 << exponent).min(max_ms).max(1);
    let half = ceiling / 2;
    let spread = u64::try_from(ceiling - half).unwrap_or(1).max(1);
    half + i64::try_from(random % spread).unwrap_or(0)
}

#[cfg(test)]
mod tests;
