//! Who may do what. Every rights rule of the desk is one arm of [`may`]; the service asks it
//! and writes no rule of its own, so a rule changes in one place and its tests say so.

use super::ids::TicketKind;

/// What the desk knows about the actor for one decision. Admins count as agents, incident
/// managers and change managers (the service builds `Who` that way from the role mapping).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Who {
    /// Works every ticket: the agent role.
    pub agent: bool,
    /// Manage Server.
    pub admin: bool,
    /// The incident manager role.
    pub incident_manager: bool,
    /// The change manager role.
    pub change_manager: bool,
    /// On call now, at some level.
    pub on_call: bool,
    /// The one paged for this incident.
    pub paged: bool,
    /// Raised this ticket (or authored this change).
    pub requester: bool,
    /// Reported a duplicate of this incident (an affected user).
    pub affected: bool,
}

/// Something someone asks the desk to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Read a ticket of this kind (show, history, SLA).
    See(TicketKind),
    /// Work a ticket of this kind: claim, assign, hold, resume, resolve, priority.
    Work(TicketKind),
    /// Close or reopen a ticket of this kind once resolved.
    Confirm(TicketKind),
    /// Cancel a ticket of this kind.
    Cancel(TicketKind),
    /// The queue of open tickets.
    Queue,
    /// Answer for incidents as they come in: skip the same-issue question and article offers,
    /// escalate, link duplicates.
    Respond,
    /// Acknowledge a page.
    Acknowledge,
    /// Post an incident update.
    UpdateIncident,
    /// Declare a major incident.
    DeclareMajor,
    /// Problems and known errors.
    WorkProblems,
    /// The on-call schedule and escalation policies.
    EditOnCall,
    /// Monitoring sources.
    ManageSources,
    /// Add, edit or retire knowledge articles.
    EditKnowledge,
    /// `/report`.
    Report,
    /// Start, complete or cancel a change.
    ManageChange,
    /// Blackout windows.
    SetBlackout,
    /// The desk's settings.
    Configure,
}

/// Whether `who` may do `act`.
pub fn may(who: Who, act: Act) -> bool {
    let responder = who.agent || who.on_call;
    match act {
        Act::See(kind) => who.requester || who.affected || may(who, Act::Work(kind)),
        Act::Work(TicketKind::Incident) => responder,
        Act::Work(_) => who.agent,
        Act::Confirm(kind) => who.requester || may(who, Act::Work(kind)),
        Act::Cancel(kind) => (who.requester && kind == TicketKind::Request) || may(who, Act::Work(kind)),
        Act::Queue => who.agent,
        Act::Respond => responder || who.incident_manager,
        Act::Acknowledge => responder || who.paged,
        Act::UpdateIncident => responder,
        Act::DeclareMajor => who.incident_manager || who.on_call,
        Act::WorkProblems => who.agent || who.incident_manager,
        Act::EditOnCall | Act::ManageSources => who.incident_manager || who.admin,
        Act::EditKnowledge => who.agent,
        Act::Report => who.agent || who.incident_manager || who.change_manager,
        Act::ManageChange => who.requester || who.change_manager || who.admin,
        Act::SetBlackout => who.change_manager || who.admin,
        Act::Configure => who.admin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KINDS: [TicketKind; 4] = [
        TicketKind::Request,
        TicketKind::Incident,
        TicketKind::Problem,
        TicketKind::Change,
    ];

    fn acts() -> Vec<Act> {
        let mut all = vec![
            Act::Queue,
            Act::Respond,
            Act::Acknowledge,
            Act::UpdateIncident,
            Act::DeclareMajor,
            Act::WorkProblems,
            Act::EditOnCall,
            Act::ManageSources,
            Act::EditKnowledge,
            Act::Report,
            Act::ManageChange,
            Act::SetBlackout,
            Act::Configure,
        ];
        for k in KINDS {
            all.extend([Act::See(k), Act::Work(k), Act::Confirm(k), Act::Cancel(k)]);
        }
        all
    }

    fn who(bits: u8) -> Who {
        let b = |i: u8| bits & (1 << i) != 0;
        Who {
            agent: b(0),
            admin: b(1),
            incident_manager: b(2),
            change_manager: b(3),
            on_call: b(4),
            paged: b(5),
            requester: b(6),
            affected: b(7),
        }
    }

    #[test]
    fn nobody_may_do_anything_and_a_requester_only_what_concerns_their_ticket() {
        assert!(acts().into_iter().all(|a| !may(Who::default(), a)));
        let requester = Who {
            requester: true,
            ..Who::default()
        };
        let allowed: Vec<Act> = acts().into_iter().filter(|a| may(requester, *a)).collect();
        let mut expected: Vec<Act> = KINDS.into_iter().flat_map(|k| [Act::See(k), Act::Confirm(k)]).collect();
        expected.extend([Act::ManageChange, Act::Cancel(TicketKind::Request)]);
        for a in &expected {
            assert!(allowed.contains(a), "{a:?}");
        }
        assert_eq!(allowed.len(), expected.len(), "{allowed:?}");
    }

    #[test]
    fn the_rules_people_are_told() {
        let agent = Who {
            agent: true,
            ..Who::default()
        };
        let on_call = Who {
            on_call: true,
            ..Who::default()
        };
        let manager = Who {
            incident_manager: true,
            ..Who::default()
        };
        // Incidents are worked by whoever is on call, requests by agents only.
        assert!(may(on_call, Act::Work(TicketKind::Incident)));
        assert!(!may(on_call, Act::Work(TicketKind::Request)));
        assert!(may(on_call, Act::Acknowledge) && may(on_call, Act::DeclareMajor));
        // An incident manager escalates and declares, but does not post updates or work tickets.
        assert!(may(manager, Act::Respond) && may(manager, Act::DeclareMajor));
        assert!(!may(manager, Act::UpdateIncident) && !may(manager, Act::Work(TicketKind::Incident)));
        // An agent does everything with tickets, and nothing with the desk's configuration.
        assert!(KINDS.into_iter().all(|k| may(agent, Act::Work(k))));
        assert!(!may(agent, Act::DeclareMajor) && !may(agent, Act::Configure) && !may(agent, Act::EditOnCall));
        // A requester cancels their own request, never their incident.
        let requester = Who {
            requester: true,
            ..Who::default()
        };
        assert!(may(requester, Act::Cancel(TicketKind::Request)));
        assert!(!may(requester, Act::Cancel(TicketKind::Incident)));
        // Being paged lets you acknowledge, nothing more.
        let paged = Who {
            paged: true,
            ..Who::default()
        };
        assert_eq!(
            acts().into_iter().filter(|a| may(paged, *a)).collect::<Vec<_>>(),
            vec![Act::Acknowledge]
        );
    }

    proptest! {
        /// A right more never takes a permission away.
        #[test]
        fn more_rights_never_allow_less(bits in any::<u8>(), extra in 0u8..8) {
            let (less, more) = (who(bits), who(bits | 1 << extra));
            for a in acts() {
                prop_assert!(!may(less, a) || may(more, a), "{a:?}: {less:?} may, {more:?} may not");
            }
        }

        /// Someone who holds every role (as an admin does) may do everything.
        #[test]
        fn every_role_together_may_do_everything(bits in any::<u8>()) {
            let all = Who { agent: true, admin: true, incident_manager: true, change_manager: true, ..who(bits) };
            for a in acts() {
                prop_assert!(may(all, a), "{a:?}");
            }
        }
    }
}
