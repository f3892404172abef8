//! A self-contained HTML page (inline style, no script, nothing loaded from anywhere) built from
//! headings, fact tables and row tables, with every piece of text escaped.

use std::fmt::Write;

/// `text` safe in HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// One table cell's content, already safe HTML.
#[derive(Debug, Clone, Default)]
pub struct Cell(String);

impl Cell {
    /// Plain text, escaped.
    pub fn text(text: &str) -> Cell {
        Cell(escape(text))
    }

    /// Text in `<code>`, escaped.
    pub fn code(text: &str) -> Cell {
        Cell(format!("<code>{}</code>", escape(text)))
    }

    /// A link a person may follow (never a resource the page loads). Only http(s) addresses
    /// become links; anything else is shown as text.
    pub fn link(text: &str, href: &str) -> Cell {
        if href.starts_with("https://") || href.starts_with("http://") {
            Cell(format!(
                "<a href=\"{}\" rel=\"noopener noreferrer\">{}</a>",
                escape(href),
                escape(text)
            ))
        } else {
            Cell::code(text)
        }
    }

    /// Text shown as it is, line by line (wrapped on narrow screens).
    pub fn preformatted(text: &str) -> Cell {
        Cell(format!("<pre>{}</pre>", escape(text)))
    }

    /// A before/after pair of values, each preformatted (wrapped on narrow screens).
    pub fn before_after(before: Option<&str>, after: Option<&str>) -> (Cell, Cell) {
        let show = |value: Option<&str>| match value {
            Some(value) => Cell::preformatted(value),
            None => Cell("<span class=\"none\">(none)</span>".to_owned()),
        };
        (show(before), show(after))
    }

    /// Several cells' content on separate lines of one cell.
    pub fn lines(cells: Vec<Cell>) -> Cell {
        Cell(
            cells
                .into_iter()
                .map(|cell| cell.0)
                .collect::<Vec<_>>()
                .join("<br>"),
        )
    }

    /// Nothing in it.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A row of a table, with an optional class (the outcome, for its colour).
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// The row's class (an outcome: `created`, `updated`…), for its colour.
    pub class: Option<&'static str>,
    /// One cell per column.
    pub cells: Vec<Cell>,
}

impl Row {
    /// A row of `cells`, coloured by `class`.
    pub fn new(class: Option<&'static str>, cells: Vec<Cell>) -> Row {
        Row { class, cells }
    }
}

/// The page being built.
#[derive(Debug)]
pub struct Page {
    title: String,
    body: String,
}

/// Readable on a phone: the viewport follows the device, wide tables scroll on their own, long
/// values wrap. The colours mark what changed.
const STYLE: &str = "\
body { font-family: system-ui, sans-serif; margin: 1em; color: #1f2933; line-height: 1.4; }
h1 { font-size: 1.4em; overflow-wrap: anywhere; } h2 { font-size: 1.2em; margin-top: 1.5em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #cbd2d9; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #f0f4f8; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; max-width: 40em; font-size: 0.9em; }
code { overflow-wrap: break-word; }
table.facts td, table.facts code { overflow-wrap: anywhere; }
.headline { font-size: 1.2em; font-weight: bold; padding: 0.4em 0.6em; border-radius: 4px; background: #f0f4f8; display: inline-block; max-width: 100%; box-sizing: border-box; overflow-wrap: anywhere; }
.created, .behind, .diverged-clean, .pushed { background: #e3f9e5; }
.updated, .resent, .ahead { background: #fffbea; }
.removed, .diverged-conflicts, .refused, .failed { background: #fde8e8; }
.kept { background: #eaf2ff; }
.st-failed, .st-conflicted { background: #fde8e8; }
.st-drifted, .st-behind, .st-never-run { background: #fffbea; }
.st-up-to-date { background: #e3f9e5; }
.none { color: #7b8794; font-style: italic; }
details { margin: 0.3em 0; padding: 0.2em 0.5em; border-radius: 4px; }
summary { cursor: pointer; }
details ul { margin: 0.3em 0; padding-left: 1.2em; }
@media (max-width: 40em) {
  table.rows thead { display: none; }
  table.rows, table.rows tbody, table.rows tr, table.rows td { display: block; }
  table.rows tr { margin-bottom: 0.6em; border: 1px solid #cbd2d9; }
  table.rows td { border: none; border-bottom: 1px solid #e4e7eb; }
  table.rows td:empty { display: none; }
  table.rows td::before { content: attr(data-label); display: block; font-size: 0.8em; color: #52606d; }
}
";

impl Page {
    /// An empty page with this title.
    pub fn new(title: &str) -> Page {
        Page {
            title: title.to_owned(),
            body: String::new(),
        }
    }

    /// A section heading.
    pub fn heading(&mut self, text: &str) -> &mut Page {
        let _ = writeln!(self.body, "<h2>{}</h2>", escape(text));
        self
    }

    /// The run's one-line outcome, coloured by `class`.
    pub fn headline(&mut self, class: &str, text: &str) -> &mut Page {
        let _ = writeln!(
            self.body,
            "<p class=\"headline {}\">{}</p>",
            escape(class),
            escape(text)
        );
        self
    }

    /// A paragraph of text.
    pub fn paragraph(&mut self, text: &str) -> &mut Page {
        let _ = writeln!(self.body, "<p>{}</p>", escape(text));
        self
    }

    /// A two-column table of named facts.
    pub fn facts(&mut self, facts: Vec<(&str, Cell)>) -> &mut Page {
        self.body
            .push_str("<div class=\"scroll\"><table class=\"facts\">\n");
        for (name, value) in facts {
            let _ = writeln!(
                self.body,
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(name),
                value.0
            );
        }
        self.body.push_str("</table></div>\n");
        self
    }

    /// Names of one kind of thing on one line each, under their label and count; folded unless
    /// `open` (the page stays short when the list is long or of things that did not change).
    pub fn names(&mut self, class: &str, label: &str, names: Vec<Cell>, open: bool) -> &mut Page {
        let _ = write!(
            self.body,
            "<details class=\"{}\"{}><summary>{} ({})</summary>\n<ul>",
            escape(class),
            if open { " open" } else { "" },
            escape(label),
            names.len()
        );
        for name in names {
            let _ = write!(self.body, "<li>{}</li>", name.0);
        }
        self.body.push_str("</ul></details>\n");
        self
    }

    /// A table with a header row; nothing when there are no rows. On a narrow screen each row
    /// becomes a card, each cell labelled with its header.
    pub fn table(&mut self, headers: &[&str], rows: Vec<Row>) -> &mut Page {
        if rows.is_empty() {
            return self;
        }
        self.body.push_str("<table class=\"rows\">\n<thead><tr>");
        for header in headers {
            let _ = write!(self.body, "<th>{}</th>", escape(header));
        }
        self.body.push_str("</tr></thead>\n<tbody>\n");
        for row in rows {
            match row.class {
                Some(class) => {
                    let _ = write!(self.body, "<tr class=\"{}\">", escape(class));
                }
                None => self.body.push_str("<tr>"),
            }
            for (cell, header) in row.cells.into_iter().zip(headers) {
                let _ = write!(
                    self.body,
                    "<td data-label=\"{}\">{}</td>",
                    escape(header),
                    cell.0
                );
            }
            self.body.push_str("</tr>\n");
        }
        self.body.push_str("</tbody>\n</table>\n");
        self
    }

    /// The whole HTML document.
    pub fn finish(&self) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
             <h1>{title}</h1>\n{body}</body>\n</html>\n",
            title = escape(&self.title),
            body = self.body,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn only_http_addresses_become_links() {
        assert!(Cell::link("pr", "https://git.example.com/o/r/pulls/1")
            .0
            .starts_with("<a href=\"https://git.example.com/o/r/pulls/1\""));
        assert_eq!(Cell::link("x", "javascript:alert(1)").0, "<code>x</code>");
    }

    #[test]
    fn a_page_escapes_its_title_and_skips_empty_tables() {
        let mut page = Page::new("plan <Hello>");
        page.table(&["a"], Vec::new());
        let html = page.finish();
        assert!(html.contains("<title>plan &lt;Hello&gt;</title>"));
        assert!(!html.contains("<table>"));
    }
}
