//! `textFileStream(dir)`: lines of the files that appear in a directory.

use super::args::{bind, Param};
use super::{Input, Lowered, OpKind, OpSpec};
use crate::cx::Cx;
use crate::types::Type;
use quote::quote_spanned;
use sluice_grammar::ast::Stage;

pub const SPEC: OpSpec = OpSpec {
    name: "textFileStream",
    kind: OpKind::Source,
    signature: "textFileStream(dir: String) -> String",
    summary: "Lines of the files moved into `dir` (Spark's `textFileStream`): each batch reads \
              the files that appeared since the previous one, each file once — across restarts \
              too, with a `checkpoint` directory, which logs the files taken. Names starting \
              with `.` or `_` are ignored: write a file under such a name, then rename it.",
    example: "textFileStream(\"incoming\") | flatMap split | countByValue | print",
    lower,
};

fn lower(cx: &mut Cx, stage: &Stage, _: Option<&Input>) -> Option<Lowered> {
    let bound = bind(
        cx,
        stage,
        &[Param {
            name: "dir",
            ty: Type::String,
            required: true,
        }],
    )?;
    let dir = bound[0].clone()?;
    let sp = cx.span(stage.span);
    Some(Lowered {
        out: Some(Type::String),
        code: quote_spanned!(sp=> ssc.text_file_stream(&#dir)),
    })
}
