//! A guild's set-up as a checklist per flow: what each practice needs before it works.

/// What is set up in a guild, as far as the checklist cares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetupFacts {
    /// A triage channel is set.
    pub triage_channel: bool,
    /// An incidents channel is set.
    pub incidents_channel: bool,
    /// A CAB channel is set.
    pub cab_channel: bool,
    /// An agent role is mapped.
    pub agent_role: bool,
    /// A CAB role is mapped.
    pub cab_role: bool,
    /// Active catalog items.
    pub catalog_items: usize,
    /// People in level 1's rotation.
    pub level1_people: usize,
}

/// A practice of the desk, as the set-up checklist groups it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Service requests.
    Requests,
    /// Incidents and on-call.
    Incidents,
    /// Changes and the CAB.
    Changes,
}

impl Flow {
    /// Every flow, in the order the checklist shows them.
    pub const ALL: [Flow; 3] = [Flow::Requests, Flow::Incidents, Flow::Changes];
}

/// One set-up step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `/setup channel purpose:triage`.
    TriageChannel,
    /// `/setup channel purpose:incidents`.
    IncidentsChannel,
    /// `/setup channel purpose:cab`.
    CabChannel,
    /// `/setup role purpose:agent`.
    AgentRole,
    /// `/setup role purpose:cab`.
    CabRole,
    /// `/setup catalog-add`.
    CatalogItem,
    /// `/oncall add level:1`.
    OnCall,
}

/// A guild's set-up, step by step: what each flow needs and whether it has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checklist {
    /// (flow, step, done), in display order.
    pub steps: Vec<(Flow, Step, bool)>,
}

impl Checklist {
    /// The checklist of a guild with this set-up.
    pub fn of(s: &SetupFacts) -> Checklist {
        use Step::*;
        let steps = vec![
            (Flow::Requests, TriageChannel, s.triage_channel),
            (Flow::Requests, AgentRole, s.agent_role),
            (Flow::Requests, CatalogItem, s.catalog_items > 0),
            (Flow::Incidents, IncidentsChannel, s.incidents_channel),
            (Flow::Incidents, OnCall, s.level1_people > 0),
            (Flow::Changes, CabChannel, s.cab_channel),
            (Flow::Changes, CabRole, s.cab_role),
        ];
        Checklist { steps }
    }

    /// The steps of `flow` still to do.
    pub fn missing(&self, flow: Flow) -> Vec<Step> {
        self.steps
            .iter()
            .filter(|(f, _, done)| *f == flow && !done)
            .map(|(_, s, _)| *s)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_is_ready_when_none_of_its_steps_is_missing() {
        let facts = SetupFacts {
            triage_channel: true,
            agent_role: true,
            catalog_items: 2,
            ..SetupFacts::default()
        };
        let c = Checklist::of(&facts);
        assert!(c.missing(Flow::Requests).is_empty());
        assert_eq!(c.missing(Flow::Incidents), vec![Step::IncidentsChannel, Step::OnCall]);
        assert_eq!(c.missing(Flow::Changes), vec![Step::CabChannel, Step::CabRole]);
        let empty_catalog = Checklist::of(&SetupFacts {
            catalog_items: 0,
            level1_people: 1,
            ..facts
        });
        assert_eq!(empty_catalog.missing(Flow::Requests), vec![Step::CatalogItem]);
        assert_eq!(empty_catalog.missing(Flow::Incidents), vec![Step::IncidentsChannel]);
    }
}
