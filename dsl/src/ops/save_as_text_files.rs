//! `saveAsTextFiles(prefix, suffix)`: every batch as a directory of text files.

use super::args::{bind, Param};
use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::types::Type;
use quote::{quote, quote_spanned};
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "saveAsTextFiles",
    kind: OpKind::Output,
    signature: "saveAsTextFiles(prefix: String, suffix: String = \"\")",
    summary: "Writes each batch to the directory `prefix-<batch time in ms>[.suffix]`, one \
              `part-NNNNN` file per partition with one element per line, and `_SUCCESS` — \
              Spark's layout. The directory appears whole, under its final name.",
    example: "socket(\"localhost\", 9999) | flatMap split | map (w, 1) | reduceByKey + | saveAsTextFiles(\"out/wc\")",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, input: Option<&Input>) -> Option<Lowered> {
    let input = input?;
    let bound = bind(
        cx,
        stage,
        &[
            Param {
                name: "prefix",
                ty: Type::String,
                required: true,
            },
            Param {
                name: "suffix",
                ty: Type::String,
                required: false,
            },
        ],
    )?;
    let prefix = bound[0].clone()?;
    let suffix = bound[1]
        .clone()
        .unwrap_or(quote!(::std::string::String::new()));
    let sp = cx.span(stage.op.span);
    let var = &input.var;
    Some(Lowered {
        out: None,
        code: quote_spanned!(sp=> #var.save_as_text_files(&#prefix, &#suffix)),
    })
}
