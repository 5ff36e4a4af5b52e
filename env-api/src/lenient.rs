//! Whole numbers as JSON Schema defines them: `548` and `548.0` are the same integer,
//! and a documented range is enforced, so that a body valid by `/openapi.json` is never
//! refused for how a number was written and a body outside it is never accepted.

use serde::{Deserialize, Deserializer};

/// For `#[serde(default, deserialize_with = "opt_int::<_, T, MIN, MAX>")]`: an optional
/// integer (or integral float) within `MIN..=MAX`.
pub fn opt_int<'de, D, T, const MIN: i64, const MAX: i64>(
    deserializer: D,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    use serde::de::Error;
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
}
