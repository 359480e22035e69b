//! Sync groups, pure part: the state a group as a whole is in. The moves
//! (FAULT and BACKUP drags, MASTER only together) are made by the engine
//! through the core's `set_fault`, `sync_backup` and `sync_master`.

use crate::vrrp::State;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    pub state: State,
    pub priority: u8,
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
        Member { state, priority }
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
}
