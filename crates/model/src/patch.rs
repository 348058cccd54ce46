//! Request-body validation toolkit.
//!
//! A PATCH body is checked field by field against the resource it targets.
//! [`Obj`] walks one JSON object, remembers which keys a resource consumed and
//! reports the rest as unknown (40003) when [`Obj::finish`] is called; typed
//! accessors on [`Field`] report wrong types as 40000 and out-of-table values
//! as 40001, always naming the full field path (`outputs[1].fitMode.value`).
//! Read-only fields are compared with what a GET shows: sending them back
//! unchanged is accepted (clients PATCH back what they read), changing them is
//! 40002.

use crate::ApiError;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// Parses a request body strictly.
///
/// * empty or all-whitespace body, `null` or `{}`: 40004 (nothing to do was
///   asked, which for every body-carrying route of the guide is an error);
/// * malformed JSON, invalid UTF-8, nesting deeper than serde_json's limit or
///   a duplicated key in any object: 40000 on field `body`.
pub fn parse_body(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::NoContent);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| ApiError::Invalid {
            field: "body".into(),
            value: malformed_reason(&e),
        })?;
    match &value {
        Value::Null => Err(ApiError::NoContent),
        Value::Object(m) if m.is_empty() => Err(ApiError::NoContent),
        _ => Ok(value),
    }
}

fn malformed_reason(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    if msg.starts_with("duplicate key") {
        msg.split(" at line")
            .next()
            .unwrap_or("duplicate key")
            .to_string()
    } else {
        format!("malformed JSON at line {} column {}", e.line(), e.column())
    }
}

/// A `serde_json::Value` seed that refuses duplicate object keys, so that
/// `{"volume": 1, "volume": 100}` is an error instead of a silent last-wins.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let v = map.next_value_seed(StrictValue)?;
            if out.contains_key(&key) {
                let shown: String = key.chars().take(64).collect();
                return Err(de::Error::custom(format!("duplicate key {shown}")));
            }
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// One JSON object being validated. Keys the resource does not take are
/// reported by [`Obj::finish`].
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
    taken: Vec<&'a str>,
}

impl<'a> Obj<'a> {
    /// Starts validating `value`, which must be an object. `path` names it in
    /// messages ("" for the body itself).
    pub fn new(value: &'a Value, path: impl Into<String>) -> Result<Self, ApiError> {
        let path = path.into();
        match value {
            Value::Object(map) => Ok(Obj {
                map,
                path,
                taken: Vec::new(),
            }),
            other => Err(ApiError::invalid(
                if path.is_empty() { "body" } else { &path },
                other,
            )),
        }
    }

    /// Full path of `key` inside this object.
    pub fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Takes `key` if present.
    pub fn field(&mut self, key: &'a str) -> Option<Field<'a>> {
        let v = self.map.get(key)?;
        self.taken.push(key);
        Some(Field {
            value: v,
            path: self.path_of(key),
        })
    }

    /// Takes `key`, which must be present (40000 naming it otherwise).
    pub fn required(&mut self, key: &'a str) -> Result<Field<'a>, ApiError> {
        self.field(key)
            .ok_or_else(|| ApiError::invalid(self.path_of(key), &Value::Null))
    }

    /// Takes `key` if present and opens it as a nested object.
    pub fn object(&mut self, key: &'a str) -> Result<Option<Obj<'a>>, ApiError> {
        match self.field(key) {
            None => Ok(None),
            Some(f) => f.object().map(Some),
        }
    }

    /// Accepts `key` only if it equals `current` (what a GET shows); a
    /// different value is 40002. Used for read-only fields.
    pub fn read_only(&mut self, key: &'a str, current: &Value) -> Result<(), ApiError> {
        match self.field(key) {
            Some(f) if !same_json(f.value, current) => Err(ApiError::disallowed(f.path)),
            _ => Ok(()),
        }
    }

    /// [`Obj::read_only`] for each key, comparing with `rendered[key]`.
    pub fn read_only_from(&mut self, keys: &[&'a str], rendered: &Value) -> Result<(), ApiError> {
        for key in keys {
            let current = rendered.get(*key).unwrap_or(&Value::Null);
            self.read_only(key, current)?;
        }
        Ok(())
    }

    /// The common `{"valid": [...], "value": N}` pair: `valid` is read-only,
    /// `value` must be one of `allowed`. Returns the new value if one was sent.
    pub fn choice(
        &mut self,
        key: &'a str,
        allowed: &[i64],
        rendered: &Value,
    ) -> Result<Option<i64>, ApiError> {
        let Some(mut sub) = self.object(key)? else {
            return Ok(None);
        };
        let current = rendered.get(key).unwrap_or(&Value::Null);
        sub.read_only("valid", current.get("valid").unwrap_or(&Value::Null))?;
        let out = match sub.field("value") {
            Some(f) => Some(f.int_in(allowed)?),
            None => None,
        };
        sub.finish()?;
        Ok(out)
    }

    /// Ends validation: any key not taken is 40003.
    pub fn finish(self) -> Result<(), ApiError> {
        for key in self.map.keys() {
            if !self.taken.contains(&key.as_str()) {
                return Err(ApiError::unknown_field(self.path_of(key)));
            }
        }
        Ok(())
    }
}

/// JSON equality where `1` and `1.0` are the same number.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// One field of a body, with its path for messages.
#[derive(Clone)]
pub struct Field<'a> {
    value: &'a Value,
    path: String,
}

impl<'a> Field<'a> {
    /// Wraps a value found at `path` (used for array elements).
    pub fn at(value: &'a Value, path: impl Into<String>) -> Self {
        Field {
            value,
            path: path.into(),
        }
    }

    /// Raw JSON value.
    pub fn value(&self) -> &'a Value {
        self.value
    }

    /// Full path, for messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// 40000 for this field.
    pub fn invalid(&self) -> ApiError {
        ApiError::invalid(self.path.clone(), self.value)
    }

    /// 40001 for this field.
    pub fn unsupported(&self) -> ApiError {
        ApiError::unsupported(self.path.clone(), self.value)
    }

    /// The field as a nested object.
    pub fn object(self) -> Result<Obj<'a>, ApiError> {
        Obj::new(self.value, self.path)
    }

    /// The field as an array of fields (`path[i]`).
    pub fn array(&self) -> Result<Vec<Field<'a>>, ApiError> {
        match self.value {
            Value::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| Field::at(v, format!("{}[{i}]", self.path)))
                .collect()),
            _ => Err(self.invalid()),
        }
    }

    /// A string (40000 if another type).
    pub fn str(&self) -> Result<&'a str, ApiError> {
        self.value.as_str().ok_or_else(|| self.invalid())
    }

    /// An integer (40000 if another type, a fraction or out of i64).
    pub fn int(&self) -> Result<i64, ApiError> {
        self.value.as_i64().ok_or_else(|| self.invalid())
    }

    /// An integer within `lo..=hi` (40001 outside).
    pub fn int_range(&self, lo: i64, hi: i64) -> Result<i64, ApiError> {
        let v = self.int()?;
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(self.unsupported())
        }
    }

    /// An integer from `allowed` (40001 otherwise).
    pub fn int_in(&self, allowed: &[i64]) -> Result<i64, ApiError> {
        let v = self.int()?;
        if allowed.contains(&v) {
            Ok(v)
        } else {
            Err(self.unsupported())
        }
    }

    /// A finite number within `lo..=hi` (40000 if not a number, 40001 outside).
    pub fn number_range(&self, lo: f64, hi: f64) -> Result<f64, ApiError> {
        let v = self.value.as_f64().ok_or_else(|| self.invalid())?;
        if v.is_finite() && (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(self.unsupported())
        }
    }

    /// A string from `allowed` (40001 otherwise).
    pub fn str_in<S: AsRef<str>>(&self, allowed: &[S]) -> Result<&'a str, ApiError> {
        let v = self.str()?;
        if allowed.iter().any(|a| a.as_ref() == v) {
            Ok(v)
        } else {
            Err(self.unsupported())
        }
    }

    /// A display name: 1 to `max` characters, no control characters, not only
    /// blanks (40001 otherwise). Names reach the OSD and other clients' UIs.
    pub fn name(&self, max: usize) -> Result<String, ApiError> {
        let v = self.str()?;
        let n = v.chars().count();
        if n == 0 || n > max || v.trim().is_empty() || v.chars().any(char::is_control) {
            return Err(self.unsupported());
        }
        Ok(v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_null_and_empty_object_are_no_content() {
        for b in ["", "  \n", "null", "{}"] {
            assert_eq!(parse_body(b.as_bytes()), Err(ApiError::NoContent), "{b:?}");
        }
    }

    #[test]
    fn malformed_duplicate_and_trailing_garbage_are_invalid() {
        for b in [
            "{",
            "{\"a\":1,}",
            "{\"a\":1,\"a\":2}",
            "{\"a\":{\"b\":1,\"b\":1}}",
            "{\"a\":1} x",
            "\u{0}",
        ] {
            let e = parse_body(b.as_bytes()).unwrap_err();
            assert_eq!(e.code(), 40000, "{b:?}: {e}");
        }
        assert_eq!(parse_body(&[0xff, 0xfe]).unwrap_err().code(), 40000);
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = "[".repeat(100_000);
        assert_eq!(parse_body(deep.as_bytes()).unwrap_err().code(), 40000);
    }

    #[test]
    fn obj_reports_unknown_fields_and_paths() {
        let v = json!({"volume": 5, "mute": {"value": 9}, "bogus": 1});
        let mut o = Obj::new(&v, "inputs[0]").unwrap();
        assert_eq!(o.field("volume").unwrap().int_range(0, 100).unwrap(), 5);
        let mut m = o.object("mute").unwrap().unwrap();
        let e = m.field("value").unwrap().int_in(&[1, 2]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "The value of inputs[0].mute.value is unsupported: 9."
        );
        m.finish().unwrap();
        let e = o.finish().unwrap_err();
        assert_eq!(e, ApiError::unknown_field("inputs[0].bogus"));
    }

    #[test]
    fn read_only_accepts_same_value_and_refuses_change() {
        let rendered = json!({"type": "HDMI", "idx": 1});
        let same = json!({"type": "HDMI", "idx": 1.0});
        let mut o = Obj::new(&same, "").unwrap();
        o.read_only_from(&["type", "idx"], &rendered).unwrap();
        o.finish().unwrap();
        let diff = json!({"type": "VGA"});
        let mut o = Obj::new(&diff, "").unwrap();
        assert_eq!(
            o.read_only_from(&["type"], &rendered).unwrap_err().code(),
            40002
        );
    }

    #[test]
    fn types_are_checked_before_ranges() {
        let v = json!({"a": "5", "b": 1.5, "c": 1e300});
        let mut o = Obj::new(&v, "").unwrap();
        assert_eq!(o.field("a").unwrap().int().unwrap_err().code(), 40000);
        assert_eq!(o.field("b").unwrap().int().unwrap_err().code(), 40000);
        assert_eq!(o.field("c").unwrap().int().unwrap_err().code(), 40000);
    }

    #[test]
    fn names_are_bounded() {
        let v = json!(["", " ", "a\u{7}b", "x".repeat(65), "Room 1"]);
        let f = Field::at(&v, "n");
        let items = f.array().unwrap();
        for bad in &items[..4] {
            assert_eq!(bad.name(64).unwrap_err().code(), 40001);
        }
        assert_eq!(items[4].name(64).unwrap(), "Room 1");
    }
}
