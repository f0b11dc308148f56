//! `blueprint new NAME --lang rust|typescript|python [--template T] [--dir DIR]`.

use std::process::ExitCode;

use super::{CliResult, NewArgs};
use crate::scaffold;

pub fn run(args: &NewArgs) -> CliResult {
    let root = scaffold::create(&args.name, args.lang, args.template, &args.dir)?;
    println!(
        "Created {} ({:?} guest). Build it:\n",
        root.display(),
        args.lang
    );
    println!("  cd {}", root.display());
    for command in scaffold::build_commands(args.lang, &args.name) {
        println!("  {command}");
    }
    println!("  blueprint graph {}.toml", args.name);
    println!(
        "\nWhile editing: blueprint dev {}.toml (re-evaluates on every save)",
        args.name
    );
    Ok(ExitCode::SUCCESS)
}
