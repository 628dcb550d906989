//! The registry of connected SSE workers, grouped by poll group.
//!
//! Hand-off is non-blocking (`try_send` into a per-connection bounded queue) and the lock is never
//! held across an await, so a slow worker can only fill its own queue. A message is *delivered*
//! when its connection's stream hands it to the socket; the [`Delivery`] acknowledges that moment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use resolute_core::address::{Address, Cast};
use resolute_core::command::Handed;
use tokio::sync::{mpsc, oneshot, Notify};

/// Limits of the poll transport.
#[derive(Clone, Copy, Debug)]
pub struct RegistryConfig {
    /// Open SSE connections allowed across all groups.
    pub connections_max: usize,
    /// Messages queued per connection before it counts as full.
    pub buffer: usize,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig { connections_max: 1000, buffer: 100 }
    }
}

/// One message on its way to a worker: the SSE `data:` payload, who to tell once written, and
/// what to queue again if the connection dies soon after writing it.
#[derive(Debug)]
pub struct Delivery {
    pub payload: Arc<str>,
    pub written: Option<oneshot::Sender<()>>,
    pub handed: Option<Handed>,
}

impl Delivery {
    /// Reports that the stream handed the payload to the socket.
    pub fn mark_written(&mut self) {
        if let Some(written) = self.written.take() {
            let _ = written.send(());
        }
    }
}

struct Connection {
    key: u64,
    worker: String,
    sender: mpsc::Sender<Delivery>,
}

#[derive(Default)]
struct Groups {
    by_group: HashMap<String, Vec<Connection>>,
    total: usize,
    next_key: u64,
    /// Rotates anycast choices among equally free connections.
    rotation: usize,
    /// Lanes a worker connected to since the dispatcher last asked: their parked messages are
    /// woken even when this process did not park them (a restart, another node).
    newly_served: Vec<String>,
}

/// Lanes remembered for waking between two dispatch passes; past it the parks expire on their own.
const NEWLY_SERVED_MAX: usize = 1024;

/// Why a registration was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum RegisterError {
    AtCapacity,
}

/// Why a hand-off did not happen; the message stays in the outbox for a later attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum HandOffError {
    NoWorker,
    Full,
}

pub struct Registry {
    config: RegistryConfig,
    groups: Mutex<Groups>,
    /// Poked whenever a worker connects, so messages waiting for its group go out at once.
    connected: Notify,
}

/// Removes its connection from the registry when the SSE stream is dropped.
pub struct Registration {
    registry: Arc<Registry>,
    group: String,
    key: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.unregister(&self.group, self.key);
    }
}

impl Registry {
    pub fn new(config: RegistryConfig) -> Registry {
        Registry { config, groups: Mutex::new(Groups::default()), connected: Notify::new() }
    }

    /// A poisoned lock only means another thread panicked mid-update of plain data; keep going.
    fn lock(&self) -> MutexGuard<'_, Groups> {
        self.groups.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a connection for `worker` in `group`; the receiver feeds its SSE stream.
    pub fn register(
        self: &Arc<Self>,
        group: &str,
        worker: &str,
    ) -> Result<(Registration, mpsc::Receiver<Delivery>), RegisterError> {
        let (sender, receiver) = mpsc::channel(self.config.buffer.max(1));
        let key = {
            let mut groups = self.lock();
            if groups.total >= self.config.connections_max {
                return Err(RegisterError::AtCapacity);
            }
            groups.next_key += 1;
            let key = groups.next_key;
            let connection = Connection { key, worker: worker.to_owned(), sender };
            groups.by_group.entry(group.to_owned()).or_default().push(connection);
            groups.total += 1;
            for cast in [Cast::Anycast, Cast::Unicast] {
                let id = Some(worker.to_owned());
                let lane = Address::Poll { cast, group: group.to_owned(), id }.lane();
                if groups.newly_served.len() < NEWLY_SERVED_MAX
                    && !groups.newly_served.contains(&lane)
                {
                    groups.newly_served.push(lane);
                }
            }
            key
        };
        self.connected.notify_one();
        let registration = Registration { registry: self.clone(), group: group.to_owned(), key };
        Ok((registration, receiver))
    }

    fn unregister(&self, group: &str, key: u64) {
        let mut groups = self.lock();
        let Some(connections) = groups.by_group.get_mut(group) else {
            return;
        };
        let before = connections.len();
        connections.retain(|connection| connection.key != key);
        let removed = before - connections.len();
        if connections.is_empty() {
            groups.by_group.remove(group);
        }
        groups.total -= removed;
    }

    /// Resolves when a worker has connected since the last call.
    pub async fn worker_connected(&self) {
        self.connected.notified().await
    }

    /// Connections that can take a message for this address: the named worker's for unicast,
    /// the whole group's for anycast.
    pub fn connections(&self, group: &str, cast: Cast, worker: Option<&str>) -> usize {
        let groups = self.lock();
        let Some(connections) = groups.by_group.get(group) else {
            return 0;
        };
        match (cast, worker) {
            (Cast::Unicast, Some(worker)) => {
                connections.iter().filter(|connection| connection.worker == worker).count()
            }
            (Cast::Unicast, None) => 0,
            (Cast::Anycast, _) => connections.len(),
        }
    }

    /// The lanes workers connected to since the last call (each worker's group and its own).
    pub fn take_newly_served(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().newly_served)
    }

    /// Messages each connection may have queued.
    pub fn buffer(&self) -> usize {
        self.config.buffer.max(1)
    }

    /// Hands a message to one connection without waiting.
    pub fn hand_off(
        &self,
        group: &str,
        cast: Cast,
        worker: Option<&str>,
        delivery: Delivery,
    ) -> Result<(), HandOffError> {
        let mut groups = self.lock();
        groups.rotation = groups.rotation.wrapping_add(1);
        let rotation = groups.rotation;
        let connections = groups.by_group.get(group).ok_or(HandOffError::NoWorker)?;
        let chosen = choose(connections, cast, worker, rotation).ok_or(HandOffError::NoWorker)?;
        chosen.sender.try_send(delivery).map_err(|_| HandOffError::Full)
    }

    /// Drops every connection: their streams end, and new hand-offs find no worker.
    pub fn close_all(&self) {
        let mut groups = self.lock();
        groups.by_group.clear();
        groups.total = 0;
    }

    /// Open connections per group, for health and metrics.
    pub fn connections_by_group(&self) -> Vec<(String, usize)> {
        let groups = self.lock();
        let mut counts: Vec<_> =
            groups.by_group.iter().map(|(group, list)| (group.clone(), list.len())).collect();
        counts.sort();
        counts
    }

    /// The poll lanes some connection here can take: each group's anycast lane and each worker's
    /// unicast lane.
    pub fn served_lanes(&self) -> Vec<String> {
        let groups = self.lock();
        let mut lanes = Vec::new();
        for (group, connections) in &groups.by_group {
            let lane = |cast, id| Address::Poll { cast, group: group.clone(), id }.lane();
            lanes.push(lane(Cast::Anycast, None));
            for connection in connections {
                lanes.push(lane(Cast::Unicast, Some(connection.worker.clone())));
            }
        }
        lanes.sort();
        lanes.dedup();
        lanes
    }

    pub fn total_connections(&self) -> usize {
        self.lock().total
    }
}

/// Unicast: the first-registered connection of that worker. Anycast: the named worker if it has
/// room, else the connection with the most free queue slots, ties going to the first one from a
/// rotating start. Streams drain their queues on other threads meanwhile, so each queue's room is
/// read once and the choice made from that one reading (read twice, a queue that drained in
/// between matched neither reading).
fn choose<'a>(
    connections: &'a [Connection],
    cast: Cast,
    worker: Option<&str>,
    rotation: usize,
) -> Option<&'a Connection> {
    if cast == Cast::Unicast {
        return worker.and_then(|worker| connections.iter().find(|c| c.worker == worker));
    }
    let mut most_room: Option<(&Connection, usize)> = None;
    for step in 0..connections.len() {
        let connection = &connections[(rotation + step) % connections.len()];
        let room = connection.sender.capacity();
        if room > 0 && worker.is_some_and(|worker| connection.worker == worker) {
            return Some(connection);
        }
        if most_room.is_none_or(|(_, most)| room > most) {
            most_room = Some((connection, room));
        }
    }
    most_room.map(|(connection, _)| connection)
}

#[cfg(test)]
mod tests;
