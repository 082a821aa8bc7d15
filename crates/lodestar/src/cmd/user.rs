//! `lodestar user`: local accounts (role, clearance, knowledge bases, password) and their API keys,
//! over `lodestar_store::accounts`.

use crate::cmd::import::{require, table};
use crate::Ctx;
use anyhow::{bail, Context, Result};
use lodestar_core::{KbId, Role, Sensitivity};
use std::io::Read;

#[derive(clap::Args)]
pub struct UserArgs {
    #[command(subcommand)]
    action: UserAction,
}

#[derive(clap::Subcommand)]
enum UserAction {
    /// Add (or update) a local account
    Add {
        name: String,
        /// admin, ops, sales or viewer
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Highest sensitivity the user may see: 公开, 内部, 敏感 or 机密
        #[arg(long, value_parser = parse_clearance)]
        clearance: Sensitivity,
        /// Knowledge bases the user may search (product, customer, policy, meeting, ops); none = all
        #[arg(long = "kb", value_name = "ID", value_delimiter = ',', value_parser = parse_kb)]
        kbs: Vec<KbId>,
        /// Read the password from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts
    List,
    /// Disable an account: it can no longer log in, and its web sessions end now
    Disable { name: String },
    /// Enable a disabled account again
    Enable { name: String },
    /// API keys for programs (Authorization: Bearer KEY acts as the user)
    Key {
        #[command(subcommand)]
        action: KeyAction,
    },
}

#[derive(clap::Subcommand)]
enum KeyAction {
    /// Create a key for a user; it is printed once and stored only as a hash
    Create {
        name: String,
        /// A label to tell keys apart (e.g. open-webui)
        #[arg(long = "name", value_name = "LABEL")]
        label: Option<String>,
    },
    /// List a user's keys (or everyone's)
    List { name: Option<String> },
    /// Revoke a key by its id
    Revoke { id: i64 },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse().map_err(|e| format!("{e}"))
}
fn parse_clearance(s: &str) -> Result<Sensitivity, String> {
    s.parse().map_err(|e| format!("{e}"))
}
fn parse_kb(s: &str) -> Result<KbId, String> {
    s.parse().map_err(|e| format!("{e}"))
}

pub fn run_user(ctx: &Ctx, args: UserArgs) -> Result<()> {
    let store = ctx.store()?;
    let principal = ctx.principal(&store)?;
    match args.action {
        UserAction::Add { name, role, clearance, kbs, password_stdin } => {
            require(&principal, &[Role::Admin], "manage accounts")?;
            let hash = if password_stdin {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s).context("cannot read the password from stdin")?;
                let pw = s.lines().next().unwrap_or("").trim_end_matches(['\r', '\n']);
                if pw.is_empty() {
                    bail!("--password-stdin given but standard input held no password");
                }
                Some(lodestar_store::accounts::hash_password(pw)?)
            } else {
                None
            };
            store.upsert_user(&name, role, clearance, &kbs, hash.as_deref())?;
            let kb_ids: Vec<&str> = kbs.iter().map(|k| k.id()).collect();
            store.audit(
                &principal.name,
                "user_add",
                &serde_json::json!({"name": name, "role": role, "clearance": clearance, "kbs": kb_ids, "password_set": hash.is_some()}),
            )?;
            let user = store.get_user(name.trim())?.context("account not found after saving")?;
            if ctx.json {
                return ctx.print_json(&user);
            }
            println!(
                "user {}: role {}, clearance {}, knowledge bases {}{}",
                user.name,
                user.role,
                user.clearance,
                if kb_ids.is_empty() { "all".to_string() } else { kb_ids.join(",") },
                if user.has_password { ", password set" } else { "" }
            );
            Ok(())
        }
        UserAction::Disable { name } => {
            require(&principal, &[Role::Admin], "manage accounts")?;
            if !store.disable_user(name.trim())? {
                bail!("no enabled account `{name}` (see `lodestar user list`)");
            }
            store.audit(&principal.name, "user_disable", &serde_json::json!({"name": name}))?;
            if ctx.json {
                return ctx.print_json(&serde_json::json!({"name": name, "disabled": true}));
            }
            println!("user {name} disabled; their web sessions have ended");
            Ok(())
        }
        UserAction::Enable { name } => {
            require(&principal, &[Role::Admin], "manage accounts")?;
            if !store.enable_user(name.trim())? {
                bail!("no disabled account `{name}`");
            }
            store.audit(&principal.name, "user_enable", &serde_json::json!({"name": name}))?;
            if ctx.json {
                return ctx.print_json(&serde_json::json!({"name": name, "disabled": false}));
            }
            println!("user {name} enabled");
            Ok(())
        }
        UserAction::Key { action } => {
            require(&principal, &[Role::Admin], "manage API keys")?;
            match action {
                KeyAction::Create { name, label } => {
                    let (k, secret) = store.create_api_key(name.trim(), label.as_deref().unwrap_or(""))?;
                    store.audit(
                        &principal.name,
                        "api_key_create",
                        &serde_json::json!({"id": k.id, "user": k.user, "label": k.label}),
                    )?;
                    if ctx.json {
                        let mut v = serde_json::to_value(&k)?;
                        v["key"] = secret.into();
                        return ctx.print_json(&v);
                    }
                    println!("{secret}");
                    eprintln!("key {} for {} created — copy it now, it is not shown again", k.id, k.user);
                    Ok(())
                }
                KeyAction::List { name } => {
                    let keys = store.api_keys(name.as_deref())?;
                    if ctx.json {
                        return ctx.print_json(&keys);
                    }
                    let mut rows = vec![vec![
                        "id".to_string(),
                        "user".into(),
                        "label".into(),
                        "prefix".into(),
                        "created_at".into(),
                        "last_used_at".into(),
                        "revoked_at".into(),
                    ]];
                    for k in keys {
                        rows.push(vec![
                            k.id.to_string(),
                            k.user,
                            k.label,
                            format!("{}…", k.prefix),
                            k.created_at,
                            k.last_used_at.unwrap_or_else(|| "-".into()),
                            k.revoked_at.unwrap_or_else(|| "-".into()),
                        ]);
                    }
                    table(&rows);
                    Ok(())
                }
                KeyAction::Revoke { id } => {
                    if !store.revoke_api_key(id)? {
                        bail!("no live API key {id} (see `lodestar user key list`)");
                    }
                    store.audit(&principal.name, "api_key_revoke", &serde_json::json!({"id": id}))?;
                    if ctx.json {
                        return ctx.print_json(&serde_json::json!({"id": id, "revoked": true}));
                    }
                    println!("API key {id} revoked");
                    Ok(())
                }
            }
        }
        UserAction::List => {
            let users = store.list_users()?;
            if ctx.json {
                return ctx.print_json(&users);
            }
            let mut rows = vec![vec![
                "name".to_string(),
                "role".into(),
                "clearance".into(),
                "kbs".into(),
                "password".into(),
                "created_at".into(),
            ]];
            for u in users {
                let kbs: Vec<&str> = u.kbs.iter().map(|k| k.id()).collect();
                rows.push(vec![
                    u.name,
                    u.role.to_string(),
                    u.clearance.to_string(),
                    if kbs.is_empty() { "all".into() } else { kbs.join(",") },
                    if u.has_password { "set".into() } else { "-".into() },
                    u.created_at,
                ]);
            }
            table(&rows);
            Ok(())
        }
    }
}
