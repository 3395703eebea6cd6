//! How records print: Spark's `toString` for the types a pipeline carries, so `print` and
//! `saveAsTextFiles` produce what a Spark user expects (`(word,3)`, `1.0`).

use std::fmt::Write;

/// Appends the record as Spark would print it.
pub trait SparkString {
    fn write_spark(&self, out: &mut String);
}

impl SparkString for String {
    fn write_spark(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl SparkString for &str {
    fn write_spark(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl SparkString for i64 {
    fn write_spark(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl SparkString for bool {
    fn write_spark(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl SparkString for f64 {
    /// Java prints whole doubles with `.0` and spells out the special values.
    fn write_spark(&self, out: &mut String) {
        if self.is_nan() {
            out.push_str("NaN");
        } else if self.is_infinite() {
            out.push_str(if *self > 0.0 { "Infinity" } else { "-Infinity" });
        } else if self.fract() == 0.0 && self.abs() < 1e7 {
            let _ = write!(out, "{self:.1}");
        } else {
            let _ = write!(out, "{self}");
        }
    }
}

impl<T: SparkString> SparkString for Vec<T> {
    /// What `groupByKey` gives: Spark prints its values as a `CompactBuffer`.
    fn write_spark(&self, out: &mut String) {
        out.push_str("CompactBuffer(");
        for (i, x) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            x.write_spark(out);
        }
        out.push(')');
    }
}

impl<T: SparkString> SparkString for Option<T> {
    /// Scala's `Some(x)` and `None`, as outer joins print.
    fn write_spark(&self, out: &mut String) {
        match self {
            Some(x) => {
                out.push_str("Some(");
                x.write_spark(out);
                out.push(')');
            }
            None => out.push_str("None"),
        }
    }
}

macro_rules! tuple_spark_string {
    ($($name:ident $idx:tt),+) => {
        impl<$($name: SparkString),+> SparkString for ($($name,)+) {
            fn write_spark(&self, out: &mut String) {
                out.push('(');
                let mut first = true;
                $(
                    if !first { out.push(','); }
                    first = false;
                    self.$idx.write_spark(out);
                )+
                let _ = first;
                out.push(')');
            }
        }
    };
}

tuple_spark_string!(A 0, B 1);
tuple_spark_string!(A 0, B 1, C 2);
tuple_spark_string!(A 0, B 1, C 2, D 3);

#[cfg(test)]
mod tests {
    use super::*;

    fn s<T: SparkString>(v: T) -> String {
        let mut out = String::new();
        v.write_spark(&mut out);
        out
    }

    #[test]
    fn records_print_as_spark_prints_them() {
        assert_eq!(s(("word".to_string(), 3i64)), "(word,3)");
        assert_eq!(s((1i64, (2.0f64, true))), "(1,(2.0,true))");
        assert_eq!(s(0.25f64), "0.25");
        assert_eq!(s(f64::NAN), "NaN");
        assert_eq!(s(("a", "b", 1i64)), "(a,b,1)");
        assert_eq!(
            s(("k".to_string(), vec![1i64, 2])),
            "(k,CompactBuffer(1, 2))"
        );
    }
}
