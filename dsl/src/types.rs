//! Element types of streams and of expressions in functions.

use proc_macro2::TokenStream;
use quote::quote;

/// A concrete element type. Every edge of a checked graph has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    I64,
    F64,
    Bool,
    Tuple(Vec<Type>),
    /// What a `flatMap` function returns: any number of elements.
    List(Box<Type>),
    /// A value that may be missing, as outer joins give.
    Option(Box<Type>),
}

impl Type {
    /// The Rust type generated code uses.
    pub fn rust(&self) -> TokenStream {
        match self {
            Type::String => quote!(::std::string::String),
            Type::I64 => quote!(i64),
            Type::F64 => quote!(f64),
            Type::Bool => quote!(bool),
            Type::Tuple(items) => {
                let items = items.iter().map(Type::rust);
                quote!((#(#items,)*))
            }
            Type::List(t) => {
                let t = t.rust();
                quote!(::std::vec::Vec<#t>)
            }
            Type::Option(t) => {
                let t = t.rust();
                quote!(::std::option::Option<#t>)
            }
        }
    }

    /// Types as a comma-separated list, for messages.
    pub fn list(types: &[Type]) -> String {
        types
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `(K, V)` for a pair, the only shape `*ByKey` operators take.
    pub fn as_pair(&self) -> Option<(&Type, &Type)> {
        match self {
            Type::Tuple(items) if items.len() == 2 => Some((&items[0], &items[1])),
            _ => None,
        }
    }

    /// Whether values can key a hash map (floats cannot: no exact equality).
    pub fn is_hashable(&self) -> bool {
        match self {
            Type::F64 => false,
            Type::Tuple(items) => items.iter().all(Type::is_hashable),
            Type::List(t) | Type::Option(t) => t.is_hashable(),
            Type::String | Type::I64 | Type::Bool => true,
        }
    }

    /// Whether values of this type are copied rather than moved.
    pub fn is_copy(&self) -> bool {
        match self {
            Type::I64 | Type::F64 | Type::Bool => true,
            Type::Tuple(items) => items.iter().all(Type::is_copy),
            Type::Option(t) => t.is_copy(),
            Type::String | Type::List(_) => false,
        }
    }
}

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Type::String => f.write_str("String"),
            Type::I64 => f.write_str("i64"),
            Type::F64 => f.write_str("f64"),
            Type::Bool => f.write_str("bool"),
            Type::Tuple(items) => {
                f.write_str("(")?;
                for (i, t) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str(")")
            }
            Type::List(t) => write!(f, "[{t}]"),
            Type::Option(t) => write!(f, "Option<{t}>"),
        }
    }
}
