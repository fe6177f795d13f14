//! A small element tree over `quick-xml`, enough for OME-XML and Prairie View's XML.

use quick_xml::events::{BytesStart, Event};
use quick_xml::XmlVersion;

/// One XML element: local name (namespace prefix dropped), attributes, children, text.
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    /// The value of attribute `key`.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    /// Children named `name`.
    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

fn local(name: &str) -> String {
    match name.rsplit_once(':') {
        Some((_, l)) => l.to_string(),
        None => name.to_string(),
    }
}

fn element(e: &BytesStart) -> Result<Element, String> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let v = a.normalized_value(XmlVersion::Implicit1_0).map_err(|e| e.to_string())?;
        attrs.push((local(a.key.as_ref()), v.into_owned()));
    }
    Ok(Element { name: local(e.name().as_ref()), attrs, ..Default::default() })
}

/// Parses `text` into its root element. Errors are plain reasons (the caller names the file).
pub(crate) fn parse(text: &str) -> Result<Element, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    // The document (holding the root element), then the open elements.
    let mut doc = Element::default();
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("malformed XML at byte {}: {e}", reader.buffer_position()))?;
        match ev {
            Event::Start(e) => stack.push(element(&e)?),
            Event::Empty(e) => {
                let el = element(&e)?;
                stack.last_mut().unwrap_or(&mut doc).children.push(el);
            }
            Event::End(_) => {
                let el = stack.pop().ok_or("malformed XML: unbalanced end tag")?;
                stack.last_mut().unwrap_or(&mut doc).children.push(el);
            }
            Event::Text(t) => {
                let s = t.xml_content(XmlVersion::Implicit1_0);
                stack.last_mut().unwrap_or(&mut doc).text.push_str(s.trim());
            }
            Event::GeneralRef(r) => {
                let s = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match r.xml_content(XmlVersion::Implicit1_0).as_ref() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        _ => String::new(),
                    },
                };
                stack.last_mut().unwrap_or(&mut doc).text.push_str(&s);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("malformed XML: unclosed elements".into());
    }
    doc.children.pop().ok_or_else(|| "no XML root element".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_a_tree() {
        let root = super::parse(
            "<?xml version=\"1.0\"?><ome:OME xmlns:ome=\"x\" UUID=\"u&amp;1\"><Image><Pixels A=\"1\"/></Image><T>a&lt;b</T></ome:OME>",
        )
        .unwrap();
        assert_eq!(root.name, "OME");
        assert_eq!(root.attr("UUID"), Some("u&1"));
        assert_eq!(root.child("Image").unwrap().child("Pixels").unwrap().attr("A"), Some("1"));
        assert_eq!(root.child("T").unwrap().text, "a<b");
        assert!(super::parse("<a><b></a>").is_err());
    }
}
