//! Reading slash-command options: the subcommand name and its options by name.

use serenity::all::{CommandDataOption, CommandDataOptionValue, CommandInteraction};

use crate::render::refusals::ArgError;
use crate::service::ServiceError;

/// "a, b or c".
pub fn either(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

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

    /// A required string option; a clear refusal if Discord left it out (never an empty string
    /// passed on as if typed).
    pub fn req(&self, name: &str) -> Result<&'a str, ServiceError> {
        self.str(name).ok_or_else(|| ArgError::Missing(name.to_owned()).into())
    }

    /// A required choice, parsed into one of `all` by its name (`as_str`); the refusal lists
    /// the choices, from the same values the command registers.
    pub fn choice<T: Copy>(
        &self,
        name: &str,
        all: &[T],
        as_str: impl Fn(T) -> &'static str,
    ) -> Result<T, ServiceError> {
        let typed = self.str(name).unwrap_or_default();
        all.iter().copied().find(|v| as_str(*v) == typed).ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|v| as_str(*v)).collect();
            ArgError::NotAChoice(name.to_owned(), either(&names)).into()
        })
    }

    /// A boolean option.
    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.get(name)? {
            CommandDataOptionValue::Boolean(b) => Some(*b),
            _ => None,
        }
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

#[cfg(test)]
mod tests {
    use super::either;

    #[test]
    fn choices_read_as_a_list() {
        assert_eq!(either(&["high", "medium", "low"]), "high, medium or low");
        assert_eq!(either(&["normal", "emergency"]), "normal or emergency");
        assert_eq!(either(&["only"]), "only");
    }
}
