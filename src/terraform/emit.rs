//! Small constructors over `hcl-rs` so the writers say what they emit, not how HCL spells it.
//!
//! Literal text always goes through [`text`], which `hcl-rs` escapes (quotes, control
//! characters, and `${`/`%{` become `$${`/`%%{`), so user strings never turn into template
//! syntax. Only references the writer builds itself go through [`reference`].

use hcl::expr::{Expression, ObjectKey, TemplateExpr, Variable};
use hcl::{Block, Body, Object};
use std::collections::BTreeMap;

/// A literal string.
pub fn text(value: &str) -> Expression {
    Expression::String(value.to_owned())
}

/// `"${<expr>}"`: a reference in octoterra's quoted-interpolation style. `expr` is built by this
/// module's writers from labels, never from user text.
pub fn reference(expr: &str) -> Expression {
    Expression::TemplateExpr(Box::new(TemplateExpr::QuotedString(format!("${{{expr}}}"))))
}

/// A bare expression such as `length(self.environments) != 0` (writer-built, never user text).
pub fn bare(expr: &str) -> Expression {
    expr.parse()
        .unwrap_or_else(|err| panic!("the writer built an invalid expression {expr:?}: {err}"))
}

/// A bare keyword such as `string` or `all`.
pub fn keyword(word: &str) -> Expression {
    Expression::Variable(Variable::unchecked(word))
}

pub fn list(items: impl IntoIterator<Item = Expression>) -> Expression {
    Expression::Array(items.into_iter().collect())
}

pub fn text_list<'a>(items: impl IntoIterator<Item = &'a String>) -> Expression {
    list(items.into_iter().map(|item| text(item)))
}

pub fn reference_list(items: impl IntoIterator<Item = String>) -> Expression {
    list(items.into_iter().map(|item| reference(&item)))
}

/// A map with string keys (sorted: the input is a `BTreeMap`).
pub fn map(entries: BTreeMap<String, Expression>) -> Expression {
    let object: Object<ObjectKey, Expression> = entries
        .into_iter()
        .map(|(key, value)| (ObjectKey::Expression(Expression::String(key)), value))
        .collect();
    Expression::Object(object)
}

/// `jsonencode(<value>)`: a JSON value, each string at a pointer of `replaced` replaced by that
/// (writer-built) expression, so a looked-up id lands where the server's id was.
pub fn json_encode(
    value: &serde_json::Value,
    replaced: &BTreeMap<String, Expression>,
) -> Expression {
    fn convert(
        value: &serde_json::Value,
        pointer: String,
        replaced: &BTreeMap<String, Expression>,
    ) -> Expression {
        if let Some(expression) = replaced.get(&pointer) {
            return expression.clone();
        }
        match value {
            serde_json::Value::Null => Expression::Null,
            serde_json::Value::Bool(flag) => Expression::Bool(*flag),
            serde_json::Value::Number(number) => match number.as_f64() {
                Some(_) => number.to_string().parse().unwrap_or(Expression::Null),
                None => Expression::Null,
            },
            serde_json::Value::String(string) => text(string),
            serde_json::Value::Array(items) => list(
                items
                    .iter()
                    .enumerate()
                    .map(|(at, item)| convert(item, format!("{pointer}/{at}"), replaced)),
            ),
            serde_json::Value::Object(map) => {
                let object: Object<ObjectKey, Expression> = map
                    .iter()
                    .map(|(key, item)| {
                        let escaped = key.replace('~', "~0").replace('/', "~1");
                        (
                            ObjectKey::Expression(Expression::String(key.clone())),
                            convert(item, format!("{pointer}/{escaped}"), replaced),
                        )
                    })
                    .collect();
                Expression::Object(object)
            }
        }
    }
    Expression::FuncCall(Box::new(
        hcl::expr::FuncCall::builder("jsonencode")
            .arg(convert(value, String::new(), replaced))
            .build(),
    ))
}

/// An object with identifier keys, in the given order (nested attribute values).
pub fn object(entries: Vec<(&str, Expression)>) -> Expression {
    let object: Object<ObjectKey, Expression> = entries
        .into_iter()
        .map(|(key, value)| {
            (
                ObjectKey::Identifier(hcl::Identifier::unchecked(key)),
                value,
            )
        })
        .collect();
    Expression::Object(object)
}

/// Collects a block's attributes and nested blocks in the order they are added; `None` values are
/// left out so optional model fields read naturally at the call site.
pub struct BlockWriter {
    builder: hcl::structure::BlockBuilder,
}

impl BlockWriter {
    pub fn new(identifier: &str, labels: &[&str]) -> Self {
        let mut builder = Block::builder(identifier);
        for label in labels {
            builder = builder.add_label(*label);
        }
        BlockWriter { builder }
    }

    pub fn attr(mut self, key: &str, value: Expression) -> Self {
        self.builder = self
            .builder
            .add_attribute((hcl::Identifier::unchecked(key), value));
        self
    }

    pub fn opt(self, key: &str, value: Option<Expression>) -> Self {
        match value {
            Some(value) => self.attr(key, value),
            None => self,
        }
    }

    /// A list or map attribute, left out when empty: an explicit `[]` or `{}` where the provider
    /// reads back null is a "provider produced inconsistent result" error.
    pub fn collection(self, key: &str, value: Expression) -> Self {
        match &value {
            Expression::Array(items) if items.is_empty() => self,
            Expression::Object(entries) if entries.is_empty() => self,
            _ => self.attr(key, value),
        }
    }

    pub fn block(mut self, block: Block) -> Self {
        self.builder = self.builder.add_block(block);
        self
    }

    pub fn build(self) -> Block {
        self.builder.build()
    }
}

/// `lifecycle { ignore_changes = all }`: downstream edits survive re-applies (the article's rule).
pub fn ignore_all_changes() -> Block {
    BlockWriter::new("lifecycle", &[])
        .attr("ignore_changes", keyword("all"))
        .build()
}

/// Renders blocks as one file, with optional leading `#` comment lines.
pub fn render(comments: &[String], blocks: Vec<Block>) -> String {
    let mut out = String::new();
    for comment in comments {
        for line in comment.lines() {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
    }
    if !comments.is_empty() {
        out.push('\n');
    }
    for (index, block) in blocks.into_iter().enumerate() {
        if index > 0 {
            // `hcl::to_string` puts no blank line between top-level blocks; render one at a time.
            out.push('\n');
        }
        let single = Body::builder().add_block(block).build();
        out.push_str(&hcl::to_string(&single).expect("an hcl Body always serializes"));
    }
    align_equals(&out.replace(" {  }\n", " {}\n"))
}

/// `terraform fmt`'s alignment: the `=` of consecutive one-line attributes at one indentation
/// line up. Line-based is safe here: the writer emits no heredocs, so every string is one line.
fn align_equals(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut run: Vec<(usize, usize)> = Vec::new(); // (line index, key end)
    let flush = |run: &mut Vec<(usize, usize)>, out: &mut Vec<String>| {
        let width = run.iter().map(|(_, key_end)| *key_end).max().unwrap_or(0);
        for (index, key_end) in run.drain(..) {
            let line = out[index].clone();
            let (key, rest) = line.split_at(key_end);
            out[index] = format!("{key}{}{rest}", " ".repeat(width - key_end));
        }
    };
    for line in lines {
        let indent = line.len() - line.trim_start().len();
        let aligned =
            attribute_key_end(line).filter(|_| !line.ends_with('{') && !line.ends_with('['));
        match aligned {
            Some(key_end)
                if run
                    .first()
                    .is_none_or(|(first, _)| indent_of(&out[*first]) == indent) =>
            {
                run.push((out.len(), key_end));
            }
            Some(key_end) => {
                flush(&mut run, &mut out);
                run.push((out.len(), key_end));
            }
            None => flush(&mut run, &mut out),
        }
        out.push(line.to_owned());
    }
    flush(&mut run, &mut out);
    out.join("\n")
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Where the key of `key = value` ends (before the ` = `), for an identifier or quoted key.
fn attribute_key_end(line: &str) -> Option<usize> {
    let indent = indent_of(line);
    let rest = &line[indent..];
    let key_len = if let Some(quoted) = rest.strip_prefix('"') {
        let mut escaped = false;
        let close = quoted.char_indices().find(|(_, c)| {
            let found = *c == '"' && !escaped;
            escaped = *c == '\\' && !escaped;
            found
        })?;
        close.0 + 2
    } else {
        rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .filter(|len| *len > 0)?
    };
    rest[key_len..]
        .starts_with(" = ")
        .then_some(indent + key_len)
}
