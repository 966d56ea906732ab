//! Validates request bodies against Discord's OpenAPI 3.1 description
//! (`tests/discord-api-spec/openapi.json`, vendored; see its README).
//!
//! A JSON Schema subset, enough for every keyword the file uses on request bodies: `$ref`,
//! `type` (one or many), `const`, `enum`, `properties`, `required`, `additionalProperties`,
//! `items`, `minItems`/`maxItems`/`uniqueItems`, `minLength`/`maxLength` (characters),
//! `minimum`/`maximum`, `maxProperties`, `pattern` (the two the file has), `format: int64`,
//! `oneOf` (exactly one), `anyOf`, `allOf`. An unknown keyword is a test failure, not a pass.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;

/// The parsed OpenAPI document.
pub struct OpenApi {
    doc: Value,
}

/// Keywords we understand or that carry no constraint.
const KNOWN: &[&str] = &[
    "$ref",
    "type",
    "const",
    "enum",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "maxProperties",
    "pattern",
    "format",
    "oneOf",
    "anyOf",
    "allOf",
    "description",
    "title",
    "x-discord-union",
    "contentEncoding",
    "default",
    "deprecated",
    "readOnly",
    "examples",
    "nullable",
];

/// Where the spec lives: `DISCORD_OPENAPI` if set, else the copy in the repository
/// (`tests/discord-api-spec/openapi.json`), so a fresh clone tests itself.
pub fn spec_path() -> PathBuf {
    std::env::var_os("DISCORD_OPENAPI").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/discord-api-spec/openapi.json"),
        PathBuf::from,
    )
}

/// The document, loaded once per test binary.
pub fn openapi() -> &'static OpenApi {
    static DOC: OnceLock<OpenApi> = OnceLock::new();
    DOC.get_or_init(|| {
        let text = std::fs::read_to_string(spec_path()).unwrap_or_else(|e| {
            panic!(
                "Discord's OpenAPI file {} is not readable ({e}); set DISCORD_OPENAPI",
                spec_path().display()
            )
        });
        OpenApi {
            doc: serde_json::from_str(&text).expect("openapi.json parses"),
        }
    })
}

impl OpenApi {
    /// The path template (`/channels/{channel_id}/messages`) that matches a concrete path.
    pub fn route(&self, path: &str) -> Option<String> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let paths = self.doc["paths"].as_object()?;
        let mut best: Option<(usize, &String)> = None;
        for template in paths.keys() {
            let t: Vec<&str> = template.trim_matches('/').split('/').collect();
            if t.len() != parts.len() {
                continue;
            }
            let mut literal = 0;
            let ok = t.iter().zip(&parts).all(|(a, b)| {
                if a.starts_with('{') {
                    true
                } else if a == b {
                    literal += 1;
                    true
                } else {
                    false
                }
            });
            if ok && best.is_none_or(|(l, _)| literal > l) {
                best = Some((literal, template));
            }
        }
        best.map(|(_, t)| t.clone())
    }

    /// Errors of `body` against the JSON request body schema of `method path`; an empty list
    /// means valid. A route or method the spec does not have is itself an error.
    pub fn check_request(&self, method: &str, path: &str, body: Option<&Value>) -> Vec<String> {
        let Some(template) = self.route(path) else {
            return vec![format!("{method} {path}: no such route in Discord's API")];
        };
        let op = &self.doc["paths"][&template][method.to_lowercase()];
        if op.is_null() {
            return vec![format!("{method} {template}: method not in Discord's API")];
        }
        let mut errors = Vec::new();
        // path parameters
        let params = self.doc["paths"][&template]["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let t: Vec<&str> = template.trim_matches('/').split('/').collect();
        let p: Vec<&str> = path.trim_matches('/').split('/').collect();
        for (seg, value) in t.iter().zip(&p) {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                if let Some(param) = params.iter().find(|x| x["name"] == *name) {
                    let v = Value::String((*value).to_owned());
                    self.validate(&param["schema"], &v, &format!("path {name}"), &mut errors);
                }
            }
        }
        let schema = &op["requestBody"]["content"]["application/json"]["schema"];
        match (schema.is_null(), body) {
            (true, Some(b)) if !b.is_null() => errors.push(format!("{method} {template}: takes no JSON body")),
            (false, Some(b)) => self.validate(schema, b, "body", &mut errors),
            (false, None) if op["requestBody"]["required"] == true => {
                errors.push(format!("{method} {template}: body required"))
            }
            _ => {}
        }
        errors
            .into_iter()
            .map(|e| format!("{method} {template}: {e}"))
            .collect()
    }

    /// A named schema under `components/schemas`.
    pub fn schema(&self, name: &str) -> &Value {
        &self.doc["components"]["schemas"][name]
    }

    fn resolve<'a>(&'a self, r: &str) -> &'a Value {
        let mut node = &self.doc;
        for part in r.trim_start_matches("#/").split('/') {
            node = &node[part];
        }
        node
    }

    /// Validates `v` against `schema`, appending errors with their location.
    pub fn validate(&self, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
        let Some(s) = schema.as_object() else {
            if schema == &Value::Bool(false) {
                errors.push(format!("{at}: not allowed here"));
            }
            return;
        };
        for k in s.keys() {
            if !KNOWN.contains(&k.as_str()) {
                errors.push(format!("{at}: validator does not know keyword `{k}`"));
            }
        }
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            self.validate(self.resolve(r), v, at, errors);
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(x) => vec![x.as_str()],
                Value::Array(xs) => xs.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !types.iter().any(|ty| type_matches(ty, v)) {
                errors.push(format!("{at}: expected {types:?}, got {}", short(v)));
                return;
            }
        }
        if let Some(c) = s.get("const") {
            if !json_eq(c, v) {
                errors.push(format!("{at}: must be {c}, got {}", short(v)));
            }
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array) {
            if !e.iter().any(|x| json_eq(x, v)) {
                errors.push(format!("{at}: {} is not one of {e:?}", short(v)));
            }
        }
        match v {
            Value::String(text) => {
                let n = text.chars().count() as u64;
                if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
                    if n > max {
                        errors.push(format!("{at}: {n} characters, at most {max}"));
                    }
                }
                if let Some(min) = s.get("minLength").and_then(Value::as_u64) {
                    if n < min {
                        errors.push(format!("{at}: {n} characters, at least {min}"));
                    }
                }
                if let Some(p) = s.get("pattern").and_then(Value::as_str) {
                    if !pattern_matches(p, text) {
                        errors.push(format!("{at}: `{text}` does not match {p}"));
                    }
                }
                // An integer sent as a string still has the integer's bounds.
                let says_integer = match s.get("type") {
                    Some(Value::String(t)) => t == "integer",
                    Some(Value::Array(ts)) => ts.iter().any(|t| t == "integer") && !ts.iter().any(|t| t == "string"),
                    _ => false,
                };
                if says_integer && is_integer_text(text) {
                    let n: f64 = text.parse().unwrap_or(f64::NAN);
                    if s.get("maximum").and_then(Value::as_f64).is_some_and(|max| n > max) {
                        errors.push(format!("{at}: {text} above maximum"));
                    }
                    if s.get("minimum").and_then(Value::as_f64).is_some_and(|min| n < min) {
                        errors.push(format!("{at}: {text} below minimum"));
                    }
                }
            }
            Value::Number(num) => {
                let f = num.as_f64().unwrap_or(0.0);
                if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
                    if f > max {
                        errors.push(format!("{at}: {num} above maximum {max}"));
                    }
                }
                if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
                    if f < min {
                        errors.push(format!("{at}: {num} below minimum {min}"));
                    }
                }
                if s.get("format").and_then(Value::as_str) == Some("int32")
                    && num.as_i64().is_none_or(|i| i32::try_from(i).is_err())
                {
                    errors.push(format!("{at}: {num} is not an int32"));
                }
            }
            Value::Array(items) => {
                let n = items.len() as u64;
                if let Some(max) = s.get("maxItems").and_then(Value::as_u64) {
                    if n > max {
                        errors.push(format!("{at}: {n} items, at most {max}"));
                    }
                }
                if let Some(min) = s.get("minItems").and_then(Value::as_u64) {
                    if n < min {
                        errors.push(format!("{at}: {n} items, at least {min}"));
                    }
                }
                if s.get("uniqueItems") == Some(&Value::Bool(true)) {
                    let set: HashSet<String> = items.iter().map(Value::to_string).collect();
                    if set.len() != items.len() {
                        errors.push(format!("{at}: items are not unique"));
                    }
                }
                if let Some(item_schema) = s.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.validate(item_schema, item, &format!("{at}[{i}]"), errors);
                    }
                }
            }
            Value::Object(obj) => {
                if let Some(req) = s.get("required").and_then(Value::as_array) {
                    for r in req.iter().filter_map(Value::as_str) {
                        if !obj.contains_key(r) {
                            errors.push(format!("{at}: missing required `{r}`"));
                        }
                    }
                }
                if let Some(max) = s.get("maxProperties").and_then(Value::as_u64) {
                    if obj.len() as u64 > max {
                        errors.push(format!("{at}: more than {max} properties"));
                    }
                }
                let props = s.get("properties").and_then(Value::as_object);
                for (k, val) in obj {
                    match props.and_then(|p| p.get(k)) {
                        Some(ps) => self.validate(ps, val, &format!("{at}.{k}"), errors),
                        None => match s.get("additionalProperties") {
                            Some(Value::Bool(false)) => errors.push(format!("{at}: unknown property `{k}`")),
                            Some(ap @ Value::Object(_)) => self.validate(ap, val, &format!("{at}.{k}"), errors),
                            _ => {}
                        },
                    }
                }
            }
            _ => {}
        }
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for sub in all {
                self.validate(sub, v, at, errors);
            }
        }
        for (key, exactly_one) in [("oneOf", true), ("anyOf", false)] {
            if let Some(alts) = s.get(key).and_then(Value::as_array) {
                let mut branch_errors = Vec::new();
                let passing = alts
                    .iter()
                    .filter(|alt| {
                        let mut e = Vec::new();
                        self.validate(alt, v, at, &mut e);
                        let ok = e.is_empty();
                        branch_errors.push(e);
                        ok
                    })
                    .count();
                if passing == 0 {
                    // Report the branch that came closest, so failures are readable.
                    let closest = branch_errors.into_iter().min_by_key(Vec::len).unwrap_or_default();
                    errors.push(format!("{at}: matches none of {key}; closest: {}", closest.join("; ")));
                } else if exactly_one && passing > 1 {
                    errors.push(format!("{at}: matches {passing} branches of oneOf"));
                }
            }
        }
    }
}

fn type_matches(ty: &str, v: &Value) -> bool {
    match ty {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        // Discord accepts a string that parses as an integer where its schema says integer
        // (permission bit sets, snowflakes), and serenity sends such fields as strings.
        "integer" => v.is_i64() || v.is_u64() || v.as_str().is_some_and(is_integer_text),
        "number" => v.is_number(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}

fn is_integer_text(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit())
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The file's two patterns, written out (no regex engine needed).
fn pattern_matches(p: &str, text: &str) -> bool {
    match p {
        "^(0|[1-9][0-9]*)$" => {
            text == "0" || (!text.starts_with('0') && !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        }
        "^#(([0-9a-fA-F]{2}){3}|([0-9a-fA-F]){3})$" => {
            let hex = text.strip_prefix('#').unwrap_or("");
            (hex.len() == 6 || hex.len() == 3) && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }
        other => panic!("validator does not know pattern {other}"),
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!("{}…", &s[..s.char_indices().nth(77).map_or(s.len(), |(i, _)| i)])
    } else {
        s
    }
}
