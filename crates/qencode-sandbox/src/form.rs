//! Parsing of `application/x-www-form-urlencoded` request bodies.
//!
//! Done by hand rather than with axum's `Form` so repeated keys
//! (`task_tokens[]=a&task_tokens[]=b`) survive, and so a body sent with another
//! content type reads as an empty form, as a real form-parsing server would see it.

use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;

/// The fields of a form body, in order, keys possibly repeated.
#[derive(Debug, Default)]
pub(crate) struct FormFields {
    pairs: Vec<(String, String)>,
}

impl FormFields {
    /// Parses `body` if the request declares a form content type; otherwise the
    /// form is empty.
    pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> Self {
        if !is_form(headers) {
            return Self::default();
        }
        let pairs = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self { pairs }
    }

    /// The first value for `name`, if any.
    pub(crate) fn first(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value for any of `names`, in body order.
    pub(crate) fn all<'a>(&'a self, names: &'a [&str]) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v.as_str())
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn form_headers(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn keeps_repeated_keys_in_order() {
        let headers = form_headers("application/x-www-form-urlencoded; charset=UTF-8");
        let form = FormFields::parse(&headers, b"t%5B%5D=a&t=b&t%5B%5D=c&x=1");
        let all: Vec<_> = form.all(&["t", "t[]"]).collect();
        assert_eq!(all, ["a", "b", "c"]);
        assert_eq!(form.first("x"), Some("1"));
        assert_eq!(form.first("y"), None);
    }

    #[test]
    fn other_content_types_read_as_empty() {
        let form = FormFields::parse(&form_headers("application/json"), b"api_key=k");
        assert_eq!(form.first("api_key"), None);
        let form = FormFields::parse(&HeaderMap::new(), b"api_key=k");
        assert_eq!(form.first("api_key"), None);
    }
}
