//! Request bodies read as JSON Schema defines them, so that a body valid by
//! `/openapi.json` is never refused and a body outside it is never accepted:
//!
//! - whole numbers: `548` and `548.0` are the same integer, and a documented range is
//!   enforced;
//! - objects: serde's derive also reads a struct from an array of its fields in order;
//!   here a struct is read only from a JSON object.

use serde::de::{DeserializeOwned, Error};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use simweb_tools::json_type_name;

/// `T` from `value`, which must be a JSON object. The error names the field it is about
/// (`queries: invalid type: string "x", expected a sequence`).
pub fn from_object<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    if !value.is_object() {
        return Err(format!(
            "expected a JSON object, got {}",
            json_type_name(&value)
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| e.to_string())
}

/// For `#[serde(default, deserialize_with = "opt_object")]`: null/absent, or an object.
pub fn opt_object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        value => from_object(value).map(Some).map_err(D::Error::custom),
    }
}

/// For `#[serde(deserialize_with = "objects")]`: an array of objects.
pub fn objects<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Vec::<Value>::deserialize(deserializer)?
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            from_object(value).map_err(|e| D::Error::custom(format!("item {}: {e}", i + 1)))
        })
        .collect()
}

/// For `#[serde(default, deserialize_with = "opt_int::<_, T, MIN, MAX>")]`: an optional
/// integer (or integral float) within `MIN..=MAX`.
pub fn opt_int<'de, D, T, const MIN: i64, const MAX: i64>(
    deserializer: D,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let value = match (number.as_i64(), number.as_f64()) {
        (Some(n), _) => Some(n),
        (None, Some(f)) if f.fract() == 0.0 && f >= MIN as f64 && f <= MAX as f64 => Some(f as i64),
        _ => None,
    };
    match value {
        Some(n) if (MIN..=MAX).contains(&n) => T::try_from(n)
            .map(Some)
            .map_err(|_| D::Error::custom(format!("{number} is out of range"))),
        _ => Err(D::Error::custom(format!(
            "expected a whole number within {MIN}..={MAX}, got {number}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "super::opt_int::<_, usize, 0, 100>")]
        n: Option<usize>,
    }

    fn parse(json: &str) -> Result<Option<usize>, String> {
        serde_json::from_str::<Body>(json)
            .map(|b| b.n)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn integral_floats_count_and_ranges_hold() {
        assert_eq!(parse(r#"{"n": 7}"#), Ok(Some(7)));
        assert_eq!(parse(r#"{"n": 7.0}"#), Ok(Some(7)));
        assert_eq!(parse(r#"{"n": null}"#), Ok(None));
        assert_eq!(parse(r#"{}"#), Ok(None));
        assert!(parse(r#"{"n": 7.5}"#).unwrap_err().contains("0..=100"));
        assert!(parse(r#"{"n": 101}"#).unwrap_err().contains("0..=100"));
        assert!(parse(r#"{"n": -1}"#).unwrap_err().contains("0..=100"));
        assert!(parse(r#"{"n": 1e300}"#).is_err());
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Pair {
        a: String,
        b: Option<u32>,
    }

    #[test]
    fn structs_only_from_objects() {
        let ok: Pair = super::from_object(serde_json::json!({"a": "x"})).unwrap();
        assert_eq!(
            ok,
            Pair {
                a: "x".into(),
                b: None
            }
        );
        // serde's derive alone would read this as {"a": "x", "b": 1}.
        let err = super::from_object::<Pair>(serde_json::json!(["x", 1])).unwrap_err();
        assert!(err.contains("expected a JSON object, got an array"));
        // A wrong field is named.
        let err = super::from_object::<Pair>(serde_json::json!({"a": "x", "b": "y"})).unwrap_err();
        assert!(err.starts_with("b: invalid type"), "{err}");
    }
}
