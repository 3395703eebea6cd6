//! One `check(source, expect)` per case: the codes found and the text under each primary
//! span. Covers each diagnostic the compiler raises.

fn check(src: &str, expect: &[(&str, &str)]) {
    let diags = sluice_dsl::check(src);
    let got: Vec<(&str, &str)> = diags
        .iter()
        .map(|d| (d.code, &src[d.primary.span.start..d.primary.span.end]))
        .collect();
    assert_eq!(got, expect, "for {src:?}:\n{diags:#?}");
}

const SRC: &str = "socket(\"h\", 1)";

#[test]
fn valid_pipelines_have_no_diagnostics() {
    check(
        &format!("{SRC} | flatMap split | map (w, 1) | reduceByKey + | print"),
        &[],
    );
    check(
        &format!("{SRC} | map x => (x, len(x)) | filter (w, n) => n > 2 && w != \"a\" | print(3)"),
        &[],
    );
    check(&format!("{SRC} | flatMap split(\",\") | map lower | map (w, 1.5) | reduceByKey (a, b) => a * b | saveAsTextFiles(\"o\", \"txt\")"), &[]);
    check(&format!("{SRC} | map (x, 1) | map p => (p.0, p.1 * 2) | map (k, v) => if v > 1 then k else upper(k) | print"), &[]);
    // A named source is a stream like a `let`'s.
    check(
        "source lines = socket(host: \"h\", port: 1)\nlines | flatMap split | print\nlines | print",
        &[],
    );
    check(
        "source s = map(1)\ns | print",
        &[("flow::op::not_a_source", "map")],
    );
}

#[test]
fn operator_placement_and_names() {
    check(
        &format!("{SRC} | flatmap split | print"),
        &[("flow::op::unknown", "flatmap")],
    );
    check("map (w, 1) | print", &[("flow::op::not_a_source", "map")]);
    check(
        &format!("{SRC} | {SRC} | print"),
        &[("flow::op::source_in_middle", "socket")],
    );
    check(
        &format!("{SRC} | print | print"),
        &[("flow::op::after_output", "print")],
    );
    check(
        &format!("{SRC} | map (w, 1)"),
        &[("flow::graph::no_output", "map (w, 1)")],
    );
    check("settings { batch = 1s }", &[("flow::graph::no_output", "")]);
}

#[test]
fn types() {
    check(
        &format!("{SRC} | reduceByKey + | print"),
        &[("flow::type::not_a_pair", "reduceByKey")],
    );
    check(
        &format!("{SRC} | map (w, 1) | reduceByKey (a, b) => a > b | print"),
        &[("flow::type::mismatch", "(a, b) => a > b")],
    );
    check(
        &format!("{SRC} | map w + 1 | print"),
        &[("flow::type::operator", "w + 1")],
    );
    check(
        &format!("{SRC} | map w.0 | print"),
        &[("flow::type::no_field", "w.0")],
    );
    check(
        &format!("{SRC} | flatMap lower | print"),
        &[("flow::type::not_a_list", "lower")],
    );
    check(
        &format!("{SRC} | filter len(w) | print"),
        &[("flow::type::mismatch", "len(w)")],
    );
    check(
        &format!("{SRC} | map (w, 1) | map (k, v) => v / 2 | print"),
        &[("flow::unsupported::int_division", "v / 2")],
    );
}

#[test]
fn functions() {
    check(
        &format!("{SRC} | map + | print"),
        &[("flow::fn::arity", "+")],
    );
    check(
        &format!("{SRC} | map (a, b) | print"),
        &[("flow::fn::template_names", "b")],
    );
    check(
        &format!("{SRC} | map spilt(w) | print"),
        &[("flow::fn::unknown", "spilt")],
    );
    check(
        &format!("{SRC} | map | print"),
        &[("flow::arg::missing", "map")],
    );
    check(
        &format!("{SRC} | map (x, 1) | map (a, b, c) => a | print"),
        &[("flow::fn::arity", "(a, b, c) => a")],
    );
    check(
        &format!("{SRC} | map x => y | print"),
        &[("flow::name::unknown", "y")],
    );
    check(
        &format!("{SRC} | map {{ |w: String| w }} | print"),
        &[("flow::rust::return_type", "{ |w: String| w }")],
    );
}

#[test]
fn arguments() {
    check(
        "socket(\"h\") | print",
        &[("flow::arg::missing", "socket(\"h\")")],
    );
    check(
        "socket(\"h\", 1, \";\", 2) | print",
        &[("flow::arg::extra", "2")],
    );
    check(
        "socket(\"h\", prot: 1) | print",
        &[
            ("flow::arg::missing", "socket(\"h\", prot: 1)"),
            ("flow::arg::unknown", "prot"),
        ],
    );
    check("socket(1, 1) | print", &[("flow::arg::type", "1")]);
    check(
        "socket(\"h\", 70000) | print",
        &[("flow::arg::range", "70000")],
    );
    check(
        "socket(\"h\", x) | print",
        &[("flow::arg::not_constant", "x")],
    );
    check(&format!("{SRC} | print(-1)"), &[("flow::arg::range", "-1")]);
    check(
        "queueStream([[\"a b\"], [], [\"c\"]]) | flatMap split | countByValue | print",
        &[],
    );
    check(
        "queueStream([[\"a\"], [1]]) | print",
        &[("flow::type::mismatch", "1")],
    );
    check(
        "queueStream([[], []]) | print",
        &[("flow::type::empty_list", "[[], []]")],
    );
    check(
        "queueStream([\"a\"]) | print",
        &[("flow::arg::shape", "\"a\"")],
    );
    check(&format!("{SRC} | map w => [w, w] | print"), &[]);
    check(
        &format!("{SRC} | map w => [w, 1] | print"),
        &[("flow::type::mismatch", "1")],
    );
    check(
        "socket(\"h\", 1, delimiter: \"ab\") | print",
        &[("flow::arg::range", "\"ab\"")],
    );
}

#[test]
fn sinks_settings_and_names() {
    let sink = "sink db = sqlite(path: \"x.db\", table: \"t(k, v)\")\n";
    check(
        &format!("{sink}{SRC} | map (w, 1) | reduceByKey + | foreachPartition db"),
        &[],
    );
    check(
        &format!("{sink}{SRC} | foreachPartition db"),
        &[("flow::sink::schema_mismatch", "db")],
    );
    check(
        &format!("{sink}{SRC} | map (w, 1) | foreachPartition bd"),
        &[
            (
                "flow::sink::unused",
                "sink db = sqlite(path: \"x.db\", table: \"t(k, v)\")",
            ),
            ("flow::sink::unknown", "bd"),
        ],
    );
    check(
        &format!("sink db = mysql(path: \"x\", table: \"t(k, v)\")\n{SRC} | print"),
        &[("flow::sink::unknown_kind", "mysql")],
    );
    check(
        &format!(
            "sink db = sqlite(path: \"x\", table: \"t(k, v)\", mode: \"upsert\")\n{SRC} | print"
        ),
        &[("flow::sink::mode", "\"upsert\"")],
    );
    // Type ascriptions on lambda parameters: checked against what the operator gives.
    check(
        &format!("{SRC} | map (w: String) => (w, 1) | filter (w: String, n: i64) => n > 0 | map (p: (String, i64)) => p.1 | print"),
        &[],
    );
    check(
        &format!("{SRC} | map (w: i64) => (w, 1) | print"),
        &[("flow::type::ascription", "i64")],
    );
    check(
        &format!("{SRC} | map w => (w, 1) | map (p: (String, f64)) => p.0 | print"),
        &[("flow::type::ascription", "(String, f64)")],
    );
    // A cycle between two lets: one error, on the use that closes it.
    check(
        "let a = queueStream([[1]]) | union b\nlet b = a | map x => x + 1\nb | print",
        &[("flow::graph::cycle", "b")],
    );
    // A use before the definition, through a stream operator's argument too.
    check(
        "let a = queueStream([[1]])\nb | print\nlet b = a | map x => x + 1",
        &[("flow::name::defined_later", "b")],
    );
    check(
        "let a = queueStream([[1]])\na | union b | print\nlet b = a | map x => x + 1",
        &[("flow::name::defined_later", "b")],
    );
    // A let whose own chain fails: its uses are not reported again.
    check(
        "let a = queueStream([1])\nlet b = a | map x => x\nb | union a | print",
        &[("flow::arg::shape", "1")],
    );
    check(
        "kafka(\"127.0.0.1:9092\", \"words\", start: \"oldest\") | print",
        &[("flow::arg::choice", "\"oldest\"")],
    );
    check(
        &format!("sink db = sqlite(path: \"x\", table: \"t(k)\")\n{SRC} | print"),
        &[("flow::sink::table", "\"t(k)\"")],
    );
    check(
        &format!("settings {{ bach = 1s }}\n{SRC} | print"),
        &[("flow::setting::unknown", "bach")],
    );
    check(
        &format!("settings {{ batch = 5 }}\n{SRC} | print"),
        &[("flow::setting::type", "5")],
    );
    check(
        &format!("settings {{ writeAheadLog = true }}\n{SRC} | print"),
        &[("flow::setting::needs_checkpoint", "writeAheadLog = true")],
    );
    check(
        &format!(
            "{SRC} | map (w, 1) | updateStateByKey {{ |vs: Vec<i64>, s: Option<i64>| -> Option<i64> {{ s }} }} | print"
        ),
        &[("flow::state::no_checkpoint", "updateStateByKey { |vs: Vec<i64>, s: Option<i64>| -> Option<i64> { s } }")],
    );
    check(
        &format!(
            "settings {{ checkpoint = \"c\" }}\n{SRC} | map (w, 1) | updateStateByKey {{ |vs: Vec<i64>, s: Option<i64>| -> Option<i64> {{ s }} }} | print"
        ),
        &[],
    );
    check(
        &format!("settings {{ checkpoint = 3 }}\n{SRC} | print"),
        &[("flow::setting::type", "3")],
    );
    check(
        &format!("settings {{ onBatchFailure = \"ignore\" }}\n{SRC} | print"),
        &[("flow::setting::type", "\"ignore\"")],
    );
    check(
        &format!("settings {{ speculation = 1, taskMaxFailures = 4294967296 }}\n{SRC} | print"),
        &[
            ("flow::setting::type", "1"),
            ("flow::setting::type", "4294967296"),
        ],
    );
    check(
        &format!("settings {{ batch = 1s, batch = 2s }}\n{SRC} | print"),
        &[("flow::setting::duplicate", "batch")],
    );
    check(
        &format!("let a = {SRC}\nlet a = {SRC}\na | print"),
        &[("flow::name::duplicate", "a")],
    );
    check(
        &format!("let a = {SRC}\n{SRC} | print"),
        &[("flow::graph::unused_stream", "a")],
    );
    check(
        &format!("let a = {SRC} | print"),
        &[("flow::graph::let_output", "print")],
    );
}

#[test]
fn syntax() {
    check(
        "socket(\"h\" 1) | print",
        &[("flow::syntax::unexpected", "1")],
    );
    check(
        "socket(\"h\", 1) | print(99999999999999999999)",
        &[("flow::syntax::invalid_literal", "99999999999999999999")],
    );
}

#[test]
fn types_are_inferred_along_the_seed_pipeline() {
    let src = "sink jdbc = postgres(url: \"postgresql://h/db\", table: \"streaming_itemcount(item, count)\")\n\
               socket(\"master\", 9999) | flatMap split | map (w, 1) | reduceByKey + | foreachPartition jdbc";
    let c = sluice_dsl::analyze(src);
    let g = c.graph.expect("the seed pipeline compiles");
    let types: Vec<String> = g.pipelines[0]
        .iter()
        .map(|n| {
            n.out
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| "-".into())
        })
        .collect();
    assert_eq!(
        types,
        ["String", "String", "(String, i64)", "(String, i64)", "-"]
    );
}

#[test]
fn per_batch_operators() {
    check(
        &format!("let a = {SRC}\n{SRC} | union a | count | print"),
        &[],
    );
    check(
        &format!("{SRC} | flatMap split | countByValue | mapValues n => n * 2 | print"),
        &[],
    );
    check(
        &format!("{SRC} | map (line, line) | flatMapValues split | groupByKey | print"),
        &[],
    );
    check(&format!("{SRC} | map len(line) | reduce + | print"), &[]);
    check(
        &format!("{SRC} | count 5 | print"),
        &[("flow::arg::extra", "5")],
    );
    check(
        &format!("{SRC} | union b | print"),
        &[("flow::name::unknown", "b")],
    );
    check(
        &format!("let a = {SRC} | count\n{SRC} | union a | print"),
        &[("flow::type::mismatch", "a")],
    );
    check(
        &format!("{SRC} | map (1.5, line) | groupByKey | print"),
        &[("flow::type::not_hashable", "groupByKey")],
    );
    check(
        &format!("{SRC} | map 1.5 | countByValue | print"),
        &[("flow::type::not_hashable", "countByValue")],
    );
    check(
        &format!("{SRC} | mapValues len | print"),
        &[("flow::type::not_a_pair", "mapValues")],
    );
    check(
        &format!("{SRC} | map (line, 1) | flatMapValues n => n | print"),
        &[("flow::type::not_a_list", "n => n")],
    );
    check(
        &format!("{SRC} | map (line, 1) | reduce + | print"),
        &[("flow::type::operator", "+")],
    );
}

#[test]
fn windows_are_checked_against_the_batch_interval() {
    check(&format!("{SRC} | window(30s, 2s) | count | print"), &[]);
    check(
        &format!("settings {{ batch = 500ms }}\n{SRC} | window(1500ms) | print"),
        &[],
    );
    check(
        &format!("{SRC} | window(2500ms, 1s) | print"),
        &[("flow::window::not_multiple", "2500ms")],
    );
    check(
        &format!("settings {{ batch = 2s }}\n{SRC} | window(4s, 1s) | print"),
        &[("flow::window::not_multiple", "1s")],
    );
    check(
        &format!("{SRC} | window(30) | print"),
        &[("flow::arg::type", "30")],
    );
    check(
        &format!("{SRC} | window | print"),
        &[("flow::arg::missing", "window")],
    );
}

#[test]
fn windowed_operators_take_functions_and_durations() {
    let pairs = format!("{SRC} | flatMap split | map (w, 1)");
    check(
        &format!("{pairs} | reduceByKeyAndWindow(+, 30s, 2s) | print"),
        &[],
    );
    check(
        &format!("{pairs} | reduceByKeyAndWindow((a, b) => a + b, 30s) | print"),
        &[],
    );
    check(
        &format!("{SRC} | map len(line) | reduceByWindow(+, 4s, 2s) | print"),
        &[],
    );
    check(&format!("{SRC} | countByWindow(10s, 2s) | print"), &[]);
    check(
        &format!("{SRC} | flatMap split | countByValueAndWindow(10s, 2s) | print"),
        &[],
    );
    check(&format!("{pairs} | groupByKeyAndWindow(10s) | print"), &[]);
    check(
        &format!("{pairs} | reduceByKeyAndWindow(+, -, 30s, 2s) | print"),
        &[],
    );
    check(
        &format!("{pairs} | reduceByKeyAndWindow(+, (a, b) => a - b, 30s, 2s, filter: (w, n) => n > 0) | print"),
        &[],
    );
    check(
        &format!("{pairs} | reduceByKeyAndWindow(+, -, 30s, 2s, filter: (w, n) => n) | print"),
        &[("flow::type::mismatch", "(w, n) => n")],
    );
    check(
        &format!("{pairs} | reduceByKeyAndWindow(+, 30s, 2s, filter: (w, n) => n > 0) | print"),
        &[("flow::arg::unknown", "(w, n) => n > 0")],
    );
    check(
        &format!("{pairs} | reduceByKeyAndWindow(+, 30s, 1500ms) | print"),
        &[("flow::window::not_multiple", "1500ms")],
    );
    check(
        &format!("{SRC} | reduceByKeyAndWindow(+, 30s) | print"),
        &[("flow::type::not_a_pair", "reduceByKeyAndWindow")],
    );
    check(
        &format!("{SRC} | countByWindow | print"),
        &[("flow::arg::missing", "countByWindow")],
    );
    check(
        &format!("{SRC} | map (1, +) | print"),
        &[("flow::fn::section_as_value", "+")],
    );
}

#[test]
fn text_file_stream_is_a_source_of_lines() {
    check(
        "textFileStream(\"in\") | flatMap split | countByValue | print",
        &[],
    );
    check("textFileStream(1) | print", &[("flow::arg::type", "1")]);
    check(
        &format!("{SRC} | textFileStream(\"in\") | print"),
        &[("flow::op::source_in_middle", "textFileStream")],
    );
}

#[test]
fn embedded_rust_closures_are_checked_by_their_signatures() {
    check(
        &format!("{SRC} | map {{ |w: String| -> i64 {{ w.len() as i64 }} }} | print"),
        &[],
    );
    check(&format!("{SRC} | flatMap {{ |l: String| -> Vec<String> {{ vec![l] }} }} | map (w, 1) | reduceByKey {{ |a: i64, b: i64| -> i64 {{ a.max(b) }} }} | print"), &[]);
    check(
        &format!("{SRC} | map {{ |w: i64| -> i64 {{ w }} }} | print"),
        &[("flow::type::mismatch", "{ |w: i64| -> i64 { w } }")],
    );
    check(
        &format!("{SRC} | map {{ |w: String| w.len() }} | print"),
        &[("flow::rust::return_type", "{ |w: String| w.len() }")],
    );
    check(
        &format!("{SRC} | map {{ |w: String| -> usize {{ w.len() }} }} | print"),
        &[("flow::rust::type", "{ |w: String| -> usize { w.len() } }")],
    );
    check(
        &format!("{SRC} | map {{ 1 + 2 }} | print"),
        &[("flow::rust::not_closure", "{ 1 + 2 }")],
    );
    check(
        &format!("{SRC} | map {{ |a: String, b: String| -> String {{ a }} }} | print"),
        &[(
            "flow::fn::arity",
            "{ |a: String, b: String| -> String { a } }",
        )],
    );
}

#[test]
fn whole_partition_and_whole_batch_operators() {
    check(&format!("{SRC} | repartition(4) | glom | map {{ |p: Vec<String>| -> i64 {{ p.len() as i64 }} }} | print"), &[]);
    check(&format!("{SRC} | mapPartitions {{ |p: Vec<String>| -> Vec<i64> {{ vec![p.len() as i64] }} }} | print"), &[]);
    check(
        &format!("{SRC} | transform {{ |b: Vec<String>| -> Vec<String> {{ b }} }} | print"),
        &[],
    );
    check(
        &format!("{SRC} | map (line, 1) | foreachRDD {{ |b: Vec<(String, i64)>| {{ drop(b) }} }}"),
        &[],
    );
    check(
        &format!("{SRC} | foreachRDD {{ |b: Vec<String>, t: i64| {{ drop((b, t)) }} }}"),
        &[],
    );
    check(
        &format!("{SRC} | repartition(0) | print"),
        &[("flow::arg::range", "0")],
    );
    check(
        &format!("{SRC} | glom 1 | print"),
        &[("flow::arg::extra", "1")],
    );
    check(
        &format!("{SRC} | foreachRDD print"),
        &[("flow::arg::shape", "print")],
    );
    check(
        &format!("{SRC} | foreachRDD {{ |b: Vec<String>| -> i64 {{ 1 }} }}"),
        &[(
            "flow::rust::return_type",
            "{ |b: Vec<String>| -> i64 { 1 } }",
        )],
    );
    check(
        &format!("{SRC} | mapPartitions {{ |p: Vec<String>| -> i64 {{ 1 }} }} | print"),
        &[(
            "flow::type::not_a_list",
            "{ |p: Vec<String>| -> i64 { 1 } }",
        )],
    );
}

#[test]
fn joins_match_keys_of_two_named_streams() {
    let head = format!("let clicks = {SRC} | map (line, 1.5)\nlet views = {SRC} | map (line, 2)\n");
    check(&format!("{head}views | join clicks | print"), &[]);
    check(&format!("{head}views | leftOuterJoin clicks | map {{ |p: (String, (i64, Option<f64>))| -> bool {{ p.1 .1.is_none() }} }} | print"), &[]);
    check(&format!("{head}views | fullOuterJoin clicks | print\nviews | cogroup clicks | print\nviews | rightOuterJoin clicks | print"), &[]);
    check(
        &format!("{head}views | join click | print"),
        &[
            ("flow::graph::unused_stream", "clicks"),
            ("flow::name::unknown", "click"),
        ],
    );
    check(
        &format!("let n = {SRC} | map (len(line), 1)\n{SRC} | map (line, 1) | join n | print"),
        &[("flow::type::key_mismatch", "n")],
    );
    check(
        &format!("let l = {SRC}\n{SRC} | map (line, 1) | join l | print"),
        &[("flow::type::not_a_pair", "l")],
    );
    check(
        &format!("let l = {SRC} | map (line, 1)\n{SRC} | join l | print"),
        &[("flow::type::not_a_pair", "join")],
    );
}

#[test]
fn update_state_by_key_types_its_state_from_the_closure() {
    // With a checkpoint directory, as stateful operators want.
    let pairs = format!("settings {{ checkpoint = \"c\" }}\n{SRC} | flatMap split | map (w, 1)");
    check(&format!("{pairs} | updateStateByKey {{ |vs: Vec<i64>, s: Option<i64>| -> Option<i64> {{ Some(s.unwrap_or(0) + vs.len() as i64) }} }} | print"), &[]);
    check(&format!("{pairs} | updateStateByKey {{ |vs: Vec<i64>, s: Option<String>| -> Option<String> {{ s }} }} | map (k, s) => s + \"!\" | print"), &[]);
    check(&format!("{pairs} | updateStateByKey {{ |vs: Vec<i64>, s: Option<i64>| -> i64 {{ 1 }} }} | print"), &[("flow::rust::return_type", "{ |vs: Vec<i64>, s: Option<i64>| -> i64 { 1 } }")]);
    check(&format!("{pairs} | updateStateByKey {{ |vs: Vec<String>, s: Option<i64>| -> Option<i64> {{ s }} }} | print"), &[("flow::type::mismatch", "{ |vs: Vec<String>, s: Option<i64>| -> Option<i64> { s } }")]);
    check(
        &format!("{pairs} | updateStateByKey + | print"),
        &[("flow::arg::shape", "+")],
    );
}

#[test]
fn map_with_state_checks_its_closure_and_timeout() {
    // With a checkpoint directory, as stateful operators want.
    let pairs = format!("settings {{ checkpoint = \"c\" }}\n{SRC} | flatMap split | map (w, 1)");
    let ok = "{ |k: &String, v: Option<i64>, s: &mut State<i64>| -> (String, i64) { (k.clone(), v.unwrap_or(0)) } }";
    check(
        &format!("{pairs} | mapWithState(timeout: 30s) {ok} | print"),
        &[],
    );
    check(
        &format!("{pairs} | mapWithState {ok} | reduceByKey + | print"),
        &[],
    );
    check(
        &format!("{pairs} | mapWithState(timeout: 30) {ok} | print"),
        &[("flow::arg::type", "timeout: 30")],
    );
    check(
        &format!("{pairs} | mapWithState {{ |k: &String, v: Option<String>, s: &mut State<i64>| -> i64 {{ 1 }} }} | print"),
        &[("flow::rust::signature", "{ |k: &String, v: Option<String>, s: &mut State<i64>| -> i64 { 1 } }")],
    );
    check(
        &format!("{pairs} | mapWithState {{ |k: &String, v: Option<i64>, s: State<i64>| -> i64 {{ 1 }} }} | print"),
        &[("flow::rust::signature", "{ |k: &String, v: Option<i64>, s: State<i64>| -> i64 { 1 } }")],
    );
    check(
        &format!("{pairs} | map(x: 1) {ok} | print"),
        &[("flow::arg::shape", "(x: 1)")],
    );
}

#[test]
fn combine_by_key_infers_the_combiner_from_create() {
    let pairs = format!("{SRC} | flatMap split | map (w, len(w))");
    check(&format!("{pairs} | combineByKey(n => (n, 1), (c, n) => (c.0 + n, c.1 + 1), (a, b) => (a.0 + b.0, a.1 + b.1)) | print"), &[]);
    check(
        &format!("{pairs} | combineByKey(n => n, +, +) | print"),
        &[],
    );
    check(
        &format!("{pairs} | combineByKey(n => (n, 1), (c, n) => n, (a, b) => a) | print"),
        &[("flow::type::mismatch", "(c, n) => n")],
    );
    check(
        &format!("{pairs} | combineByKey(n => n) | print"),
        &[("flow::arg::missing", "combineByKey(n => n)")],
    );
}
