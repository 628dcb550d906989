//! The simulated processes outside the server: poll workers (group `w`), a push target (a worker
//! reached by HTTP) and a listener (`c/1`), with their connections, crashes and stalls.

use std::collections::{BTreeMap, VecDeque};

use resolute_core::address::{Address, Cast};
use resolute_core::reply::ClaimedBody;
use resolute_core::Timestamp;
use resolute_store::workload::Rng;

/// How a peer is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Holds an SSE stream to the server in a poll group.
    Poll,
    /// Receives HTTP pushes.
    Push,
}

/// A lease a worker believes it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub version: i64,
    /// When the worker thinks its lease runs out (acquire or last acknowledged heartbeat + ttl).
    pub until: Timestamp,
    /// Child promises it created under this lease.
    pub children: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Peer {
    pub name: String,
    pub kind: Kind,
    pub group: String,
    pub id: String,
    /// Bumped by every crash: messages sent to an earlier incarnation are lost.
    pub incarnation: u64,
    pub pid: String,
    /// Unreachable (crashed, or its stream dropped) until this instant.
    pub offline_until: Option<Timestamp>,
    /// Alive but answering nothing until this instant.
    pub stalled_until: Option<Timestamp>,
    pub inbox: VecDeque<ClaimedBody>,
    pub held: BTreeMap<String, Held>,
    /// Versions it held once and no longer does: what a zombie replays.
    pub lost: VecDeque<(String, i64)>,
}

/// Old versions remembered for stale replays.
const LOST_MAX: usize = 8;

impl Peer {
    fn new(name: &str, kind: Kind, group: &str, id: &str) -> Peer {
        Peer {
            name: name.to_owned(),
            kind,
            group: group.to_owned(),
            id: id.to_owned(),
            incarnation: 0,
            pid: format!("sim-{name}#0"),
            offline_until: None,
            stalled_until: None,
            inbox: VecDeque::new(),
            held: BTreeMap::new(),
            lost: VecDeque::new(),
        }
    }

    pub fn is_online(&self) -> bool {
        self.offline_until.is_none()
    }

    pub fn is_stalled(&self) -> bool {
        self.stalled_until.is_some()
    }

    /// Forgets a lease (lost, finished or given up) but remembers its version for replays.
    pub fn forget(&mut self, task_id: &str) {
        if let Some(held) = self.held.remove(task_id) {
            self.remember_lost(task_id, held.version);
        }
    }

    fn remember_lost(&mut self, task_id: &str, version: i64) {
        if self.lost.len() == LOST_MAX {
            self.lost.pop_front();
        }
        self.lost.push_back((task_id.to_owned(), version));
    }
}

#[derive(Debug)]
pub struct Peers {
    pub peers: Vec<Peer>,
}

impl Peers {
    /// `workers` poll workers `w/1..`, the push target `hook` and the listener `c/1`.
    pub fn new(workers: usize) -> Peers {
        let mut peers: Vec<Peer> = (1..=workers)
            .map(|index| {
                let id = index.to_string();
                Peer::new(&format!("w/{id}"), Kind::Poll, "w", &id)
            })
            .collect();
        peers.push(Peer::new("hook", Kind::Push, "", ""));
        peers.push(Peer::new("c/1", Kind::Poll, "c", "1"));
        Peers { peers }
    }

    pub fn len(&self) -> usize {
        self.peers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    pub fn name(&self, index: usize) -> &str {
        &self.peers[index].name
    }

    /// Open poll streams that can serve `group` (for unicast: the one worker `id`).
    pub fn connections(&self, group: &str, cast: Cast, id: Option<&str>) -> usize {
        self.peers
            .iter()
            .filter(|peer| peer.kind == Kind::Poll && peer.group == group && peer.is_online())
            .filter(|peer| cast == Cast::Anycast || Some(peer.id.as_str()) == id)
            .count()
    }

    /// The peer a message to `address` is handed to, with its incarnation; `None` if nobody is
    /// reachable. Anycast prefers the named worker, as the server's registry does.
    pub fn pick(&self, address: &str, rng: &mut Rng) -> Option<(usize, u64)> {
        let candidates: Vec<usize> = match Address::parse(address)? {
            Address::Poll { cast, group, id } => {
                let members: Vec<usize> = self.online(Kind::Poll, Some(&group));
                let named: Vec<usize> = members
                    .iter()
                    .copied()
                    .filter(|&index| Some(self.peers[index].id.as_str()) == id.as_deref())
                    .collect();
                match cast {
                    Cast::Unicast => named,
                    Cast::Anycast if named.is_empty() => members,
                    Cast::Anycast => named,
                }
            }
            Address::Http { .. } => self.online(Kind::Push, None),
            _ => Vec::new(),
        };
        if candidates.is_empty() {
            return None;
        }
        let index = *rng.pick(&candidates);
        Some((index, self.peers[index].incarnation))
    }

    fn online(&self, kind: Kind, group: Option<&str>) -> Vec<usize> {
        (0..self.peers.len())
            .filter(|&index| {
                let peer = &self.peers[index];
                peer.kind == kind
                    && peer.is_online()
                    && group.is_none_or(|group| peer.group == group)
            })
            .collect()
    }

    /// A message lands, if the incarnation it was sent to is still up.
    pub fn arrive(&mut self, index: usize, incarnation: u64, body: ClaimedBody) -> bool {
        let peer = &mut self.peers[index];
        if peer.incarnation != incarnation || !peer.is_online() {
            return false;
        }
        peer.inbox.push_back(body);
        true
    }

    /// Brings back peers whose outage or stall is over.
    pub fn maintain(&mut self, now: Timestamp) {
        for peer in &mut self.peers {
            if peer.offline_until.is_some_and(|until| until <= now) {
                peer.offline_until = None;
            }
            if peer.stalled_until.is_some_and(|until| until <= now) {
                peer.stalled_until = None;
            }
        }
    }

    /// The process dies: leases, inbox and connection are gone; a new incarnation comes back.
    pub fn crash(&mut self, index: usize, back_at: Timestamp) {
        let peer = &mut self.peers[index];
        let held: Vec<(String, i64)> =
            peer.held.iter().map(|(id, held)| (id.clone(), held.version)).collect();
        for (id, version) in held {
            peer.remember_lost(&id, version);
        }
        peer.held.clear();
        peer.inbox.clear();
        peer.incarnation += 1;
        peer.pid = format!("sim-{}#{}", peer.name, peer.incarnation);
        peer.offline_until = Some(back_at);
        peer.stalled_until = None;
    }

    /// The server restarted: every poll stream dropped; workers reconnect by `back_at`.
    pub fn drop_streams(&mut self, back_at: Timestamp) {
        for peer in self.peers.iter_mut().filter(|peer| peer.kind == Kind::Poll) {
            let until = peer.offline_until.map_or(back_at, |until| until.max(back_at));
            peer.offline_until = Some(until);
        }
    }

    /// Liveness phase: everybody is up and answering.
    pub fn heal(&mut self) {
        for peer in &mut self.peers {
            peer.offline_until = None;
            peer.stalled_until = None;
        }
    }
}
