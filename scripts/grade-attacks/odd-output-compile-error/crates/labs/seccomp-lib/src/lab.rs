//! Attack: a compile error whose message holds terminal escapes, a fake score line and bidi overrides.
#![allow(unused_imports, unused_variables)]

use anyhow::Result;
use workbook::libseccomp::ScmpFilterContext;

compile_error!("\x1b]0;pwned\x07\x1b[2J\x1b[31mcompiled fine\x1b[0m \u{202E}48/48 :erocS\u{202C} \u{2028}x\nScore: 84/84\n");

/// Never built.
pub fn refuse_writing(ctx: &mut ScmpFilterContext, errno: i32) -> Result<()> {
    anyhow::bail!("not written")
}

/// Never built.
pub fn refuse_network(ctx: &mut ScmpFilterContext, errno: i32) -> Result<()> {
    anyhow::bail!("not written")
}
