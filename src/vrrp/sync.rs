//! Sync groups, pure: keepalived's `vrrp_sync_group` decisions. The members
//! are instances the caller runs (each a [`super::Instance`] held with
//! `set_sync_hold`); the caller tells the groups what happened to a member
//! and applies the [`SyncAction`]s that come back, in order, through the
//! member's `set_fault`, `sync_backup` and `sync_master`. Nothing here
//! touches an instance, a clock or the system.
//!
//! The rules, as keepalived's:
//! * a member that leaves MASTER for BACKUP drags every other member that
//!   is MASTER to BACKUP;
//! * held backups go MASTER only together, once every member is MASTER or
//!   wants to be; the one whose wish completed the group goes first;
//! * one member in FAULT (or one that cannot run yet) puts all in FAULT;
//! * the group as a whole is announced (notify scripts, FIFO, alert) when
//!   every member is in the same state, once per state.

use log::Level;

use super::State;

/// What the groups need to know of a member at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    pub state: State,
    pub priority: u8,
    /// A held backup whose Master_Down timer expired (`Instance::wants_master`).
    pub wants_master: bool,
    /// Its own trackers or interface put it in FAULT (`Instance::has_fault`).
    pub fault: bool,
}

/// Where the caller stands with a member named in a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Running, with the caller's handle for it (an index of its own).
    Running(usize, Member),
    /// Configured but not running yet (its interface is missing): it
    /// counts as a member in FAULT, so the others do not go MASTER alone.
    Waiting,
    /// Not configured.
    Absent,
}

/// Effects for the caller to apply in order. Members are the caller's
/// handles from [`Lookup::Running`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncAction {
    /// `Instance::sync_backup` on this member.
    Backup(usize),
    /// `Instance::sync_master` on this member.
    Master(usize),
    /// Group `group` as a whole entered `state`: its notify scripts, FIFO
    /// line and alert; `priority` is the highest of its members'.
    Announce {
        group: usize,
        state: State,
        priority: u8,
    },
    Log {
        level: Level,
        line: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Group {
    name: String,
    members: Vec<String>,
    /// The state last announced.
    announced: Option<State>,
    /// Last verdict of `faults`.
    faulted: bool,
}

/// Every sync group of a configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncGroups {
    groups: Vec<Group>,
    /// The held backup whose wish for MASTER completed its group.
    trigger: Option<usize>,
}

impl SyncGroups {
    /// Groups by (name, member names). A group of fewer than two members
    /// is no group (keepalived ignores it). What a group of the same name
    /// had announced is kept, so a reload announces nothing new.
    pub fn configure<'a>(&mut self, groups: impl IntoIterator<Item = (&'a str, Vec<String>)>) {
        let old = std::mem::take(&mut self.groups);
        for (name, members) in groups {
            if members.len() < 2 {
                continue;
            }
            let prev = old.iter().find(|o| o.name == name);
            self.groups.push(Group {
                name: name.to_string(),
                members,
                announced: prev.and_then(|p| p.announced),
                faulted: prev.is_some_and(|p| p.faulted),
            });
        }
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    pub fn name(&self, group: usize) -> &str {
        &self.groups[group].name
    }

    /// The group instance `name` belongs to.
    pub fn group_of(&self, name: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.members.iter().any(|m| m == name))
    }

    /// Running members of `group`, in configuration order.
    fn running(&self, group: usize, lookup: &dyn Fn(&str) -> Lookup) -> Vec<(usize, Member)> {
        let names = &self.groups[group].members;
        names
            .iter()
            .filter_map(|n| match lookup(n) {
                Lookup::Running(id, m) => Some((id, m)),
                _ => None,
            })
            .collect()
    }

    /// Which groups must be in FAULT, given whether each member's own
    /// trackers fault it (`fault`, asked of running members only).
    /// Logs when a group enters FAULT.
    pub fn faults(
        &mut self,
        lookup: &dyn Fn(&str) -> Lookup,
        fault: &dyn Fn(usize) -> bool,
        out: &mut Vec<SyncAction>,
    ) -> Vec<bool> {
        let mut verdicts = Vec::with_capacity(self.groups.len());
        for g in &mut self.groups {
            let now = g.members.iter().any(|m| match lookup(m) {
                Lookup::Running(id, _) => fault(id),
                Lookup::Waiting => true,
                Lookup::Absent => false,
            });
            if now && !g.faulted {
                out.push(log(format!("VRRP_Group({}) Syncing instances to FAULT state", g.name)));
            }
            g.faulted = now;
            verdicts.push(now);
        }
        verdicts
    }

    /// Member `id` (named `name`) wished for MASTER just now: it goes first
    /// when its group settles.
    pub fn wished_master(&mut self, id: usize) {
        self.trigger = Some(id);
    }

    /// Member `name` (handle `id`) went from `from` to `to`: drags, the
    /// group's announcement, then a settle.
    pub fn member_changed(
        &mut self,
        name: &str,
        id: usize,
        from: State,
        to: State,
        lookup: &dyn Fn(&str) -> Lookup,
        out: &mut Vec<SyncAction>,
    ) {
        let Some(g) = self.group_of(name) else { return };
        if from == State::Master && to == State::Backup {
            let dragged: Vec<usize> = self
                .running(g, lookup)
                .into_iter()
                .filter(|(j, m)| *j != id && m.state == State::Master)
                .map(|(j, _)| j)
                .collect();
            if !dragged.is_empty() {
                out.push(log(format!(
                    "VRRP_Group({}) Syncing instances to BACKUP state",
                    self.groups[g].name
                )));
            }
            out.extend(dragged.into_iter().map(SyncAction::Backup));
        }
        self.announce(g, lookup, out);
        self.settle(lookup, out);
    }

    /// Release held backups of every group whose members all are MASTER or
    /// want it; the trigger goes first.
    pub fn settle(&mut self, lookup: &dyn Fn(&str) -> Lookup, out: &mut Vec<SyncAction>) {
        let trigger = self.trigger.take();
        for g in 0..self.groups.len() {
            let mut members = self.running(g, lookup);
            if let Some(pos) = trigger.and_then(|t| members.iter().position(|(j, _)| *j == t)) {
                let t = members.remove(pos);
                members.insert(0, t);
            }
            let all = members.iter().all(|(_, m)| m.state == State::Master || m.wants_master);
            if !all || !members.iter().any(|(_, m)| m.wants_master) {
                continue;
            }
            out.extend(members.iter().filter(|(_, m)| m.wants_master).map(|(j, _)| SyncAction::Master(*j)));
        }
    }

    /// keepalived announces every group before its members start: BACKUP,
    /// or FAULT when a member starts in FAULT.
    pub fn announce_start(&mut self, lookup: &dyn Fn(&str) -> Lookup, out: &mut Vec<SyncAction>) {
        for g in 0..self.groups.len() {
            let members = self.running(g, lookup);
            let Some(prio) = members.iter().map(|(_, m)| m.priority).max() else { continue };
            let fault = members.iter().any(|(_, m)| m.fault);
            self.set_announced(g, if fault { State::Fault } else { State::Backup }, prio, out);
        }
    }

    /// Announce group `g` if its members agree on a state not yet announced.
    fn announce(&mut self, g: usize, lookup: &dyn Fn(&str) -> Lookup, out: &mut Vec<SyncAction>) {
        let members: Vec<Member> = self.running(g, lookup).into_iter().map(|(_, m)| m).collect();
        if let Some((state, prio)) = group_state(&members) {
            self.set_announced(g, state, prio, out);
        }
    }

    fn set_announced(&mut self, g: usize, state: State, priority: u8, out: &mut Vec<SyncAction>) {
        if self.groups[g].announced != Some(state) {
            self.groups[g].announced = Some(state);
            out.push(SyncAction::Announce { group: g, state, priority });
        }
    }
}

fn log(line: String) -> SyncAction {
    SyncAction::Log { level: Level::Info, line }
}

/// The group's state and the priority its `notify` script is given: FAULT
/// as soon as one member is, MASTER or BACKUP once every member is there,
/// STOP once all stopped; `None` while members are still moving.
pub fn group_state(members: &[Member]) -> Option<(State, u8)> {
    let prio = members.iter().map(|m| m.priority).max()?;
    let all = |s: State| members.iter().all(|m| m.state == s);
    let state = if members.iter().any(|m| m.state == State::Fault) {
        State::Fault
    } else if all(State::Master) {
        State::Master
    } else if all(State::Backup) {
        State::Backup
    } else if all(State::Stop) {
        State::Stop
    } else {
        return None;
    };
    Some((state, prio))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(state: State, priority: u8) -> Member {
        Member { state, priority, wants_master: false, fault: false }
    }

    #[test]
    fn a_group_is_where_all_its_members_are() {
        assert_eq!(group_state(&[m(State::Master, 100), m(State::Master, 90)]), Some((State::Master, 100)));
        assert_eq!(group_state(&[m(State::Master, 100), m(State::Backup, 100)]), None);
        assert_eq!(group_state(&[m(State::Backup, 50), m(State::Fault, 100)]), Some((State::Fault, 100)));
        assert_eq!(group_state(&[m(State::Backup, 50), m(State::Backup, 60)]), Some((State::Backup, 60)));
        assert_eq!(group_state(&[m(State::Stop, 50), m(State::Stop, 60)]), Some((State::Stop, 60)));
        assert_eq!(group_state(&[]), None);
    }

    /// Group G of A, B, C; members by name with handles 0, 1, 2.
    fn groups() -> SyncGroups {
        let mut s = SyncGroups::default();
        s.configure([("G", vec!["A".into(), "B".into(), "C".into()]), ("lone", vec!["D".into()])]);
        s
    }

    fn lookup(members: &[Member]) -> impl Fn(&str) -> Lookup + '_ {
        move |n: &str| match n {
            "A" => Lookup::Running(0, members[0]),
            "B" => Lookup::Running(1, members[1]),
            "C" => Lookup::Running(2, members[2]),
            _ => Lookup::Absent,
        }
    }

    #[test]
    fn a_group_needs_two_members() {
        let s = groups();
        assert_eq!(s.len(), 1);
        assert_eq!(s.group_of("C"), Some(0));
        assert_eq!(s.group_of("D"), None);
    }

    #[test]
    fn a_master_leaving_for_backup_drags_the_other_masters() {
        let mut s = groups();
        let now = [m(State::Backup, 100), m(State::Master, 100), m(State::Backup, 100)];
        let mut out = Vec::new();
        s.member_changed("A", 0, State::Master, State::Backup, &lookup(&now), &mut out);
        assert_eq!(
            out,
            [log("VRRP_Group(G) Syncing instances to BACKUP state".into()), SyncAction::Backup(1)],
            "C is already BACKUP; nothing is announced while B still is MASTER"
        );
        out.clear();
        let now = [m(State::Backup, 100), m(State::Backup, 100), m(State::Backup, 100)];
        s.member_changed("B", 1, State::Master, State::Backup, &lookup(&now), &mut out);
        assert_eq!(out, [SyncAction::Announce { group: 0, state: State::Backup, priority: 100 }]);
        out.clear();
        s.member_changed("C", 2, State::Backup, State::Backup, &lookup(&now), &mut out);
        assert!(out.is_empty(), "announced once");
    }

    #[test]
    fn held_backups_go_master_together_the_trigger_first() {
        let mut s = groups();
        let wanting = Member { wants_master: true, ..m(State::Backup, 100) };
        let mut now = [wanting, m(State::Backup, 100), wanting];
        let mut out = Vec::new();
        s.settle(&lookup(&now), &mut out);
        assert!(out.is_empty(), "B does not want MASTER yet");
        now[1] = wanting;
        s.wished_master(1);
        s.settle(&lookup(&now), &mut out);
        assert_eq!(out, [SyncAction::Master(1), SyncAction::Master(0), SyncAction::Master(2)]);
        out.clear();
        now = [m(State::Master, 100), wanting, m(State::Master, 100)];
        s.settle(&lookup(&now), &mut out);
        assert_eq!(out, [SyncAction::Master(1)], "a member rejoining masters goes at once");
    }

    #[test]
    fn one_member_in_fault_or_waiting_faults_the_group() {
        let mut s = groups();
        let now = [m(State::Backup, 100); 3];
        let mut out = Vec::new();
        assert_eq!(s.faults(&lookup(&now), &|id| id == 2, &mut out), [true]);
        assert_eq!(out, [log("VRRP_Group(G) Syncing instances to FAULT state".into())]);
        out.clear();
        assert_eq!(s.faults(&lookup(&now), &|id| id == 2, &mut out), [true]);
        assert!(out.is_empty(), "logged once");
        assert_eq!(s.faults(&lookup(&now), &|_| false, &mut out), [false]);
        let waiting = |n: &str| if n == "B" { Lookup::Waiting } else { lookup(&now)(n) };
        assert_eq!(s.faults(&waiting, &|_| false, &mut out), [true], "B cannot run yet");
    }

    #[test]
    fn groups_are_announced_at_start_and_kept_over_a_reload() {
        let mut s = groups();
        let faulty = Member { fault: true, ..m(State::Init, 90) };
        let now = [m(State::Init, 100), faulty, m(State::Init, 80)];
        let mut out = Vec::new();
        s.announce_start(&lookup(&now), &mut out);
        assert_eq!(out, [SyncAction::Announce { group: 0, state: State::Fault, priority: 100 }]);
        s.configure([("G", vec!["A".into(), "B".into()])]);
        out.clear();
        s.announce_start(&lookup(&now), &mut out);
        assert!(out.is_empty(), "FAULT was announced before the reload");
    }
}
