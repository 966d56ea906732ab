//! Reading slash-command options: the subcommand name and its options by name.

use serenity::all::{CommandDataOption, CommandDataOptionValue, CommandInteraction};

/// The options of one invocation, flattened past the subcommand.
pub struct Opts<'a> {
    /// The subcommand, if any.
    pub sub: Option<&'a str>,
    list: &'a [CommandDataOption],
}

impl<'a> Opts<'a> {
    /// Reads the invocation.
    pub fn of(cmd: &'a CommandInteraction) -> Opts<'a> {
        match cmd.data.options.first() {
            Some(CommandDataOption {
                name,
                value: CommandDataOptionValue::SubCommand(inner),
                ..
            }) => Opts {
                sub: Some(name.as_str()),
                list: inner,
            },
            _ => Opts {
                sub: None,
                list: &cmd.data.options,
            },
        }
    }

    fn get(&self, name: &str) -> Option<&'a CommandDataOptionValue> {
        self.list.iter().find(|o| o.name == name).map(|o| &o.value)
    }

    /// A string option (also the typed text of an autocomplete option).
    pub fn str(&self, name: &str) -> Option<&'a str> {
        match self.get(name)? {
            CommandDataOptionValue::String(s) => Some(s),
            CommandDataOptionValue::Autocomplete { value, .. } => Some(value),
            _ => None,
        }
    }

    /// A required string option; empty if Discord left it out (the desk then refuses it).
    pub fn req(&self, name: &str) -> &'a str {
        self.str(name).unwrap_or("")
    }

    /// An integer option.
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            CommandDataOptionValue::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// A user option.
    pub fn user(&self, name: &str) -> Option<u64> {
        match self.get(name)? {
            CommandDataOptionValue::User(u) => Some(u.get()),
            _ => None,
        }
    }

    /// A channel option.
    pub fn channel(&self, name: &str) -> Option<u64> {
        match self.get(name)? {
            CommandDataOptionValue::Channel(c) => Some(c.get()),
            _ => None,
        }
    }

    /// A role option.
    pub fn role(&self, name: &str) -> Option<u64> {
        match self.get(name)? {
            CommandDataOptionValue::Role(r) => Some(r.get()),
            _ => None,
        }
    }
}
