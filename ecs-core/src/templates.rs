//! The embedded templates (`templates/` at the repository root, compiled into the binary) and
//! the one minijinja environment that renders them. JSON templates are rendered with JSON
//! auto-escaping, so a `{{ value }}` is always a well-formed JSON value whatever the user
//! wrote in Cargo.toml. Pure: no files are read at run time.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

/// Name of the task definition template.
pub const TASK_DEFINITION: &str = "task-definition.json.j2";

/// The task definition template source (`templates/task-definition.json.j2`).
pub const TASK_DEFINITION_SOURCE: &str = include_str!("../../templates/task-definition.json.j2");

/// The environment with every embedded template loaded; undefined values are errors, so a
/// typo in a template fails the tests instead of rendering nothing.
pub fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".json.j2") || name.ends_with(".json") {
            AutoEscape::Json
        } else {
            AutoEscape::None
        }
    });
    env.add_template(TASK_DEFINITION, TASK_DEFINITION_SOURCE)?;
    Ok(env)
}

/// Renders one embedded template with a serializable context.
pub fn render(name: &str, context: &impl Serialize) -> Result<String, minijinja::Error> {
    let env = environment()?;
    let template = env.get_template(name)?;
    template.render(context)
}
