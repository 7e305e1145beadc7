//! Figures of the local network through a real client, `ic-agent` with
//! certificate and query-signature verification on:
//!
//! - boot time of the whole NNS network (modules compiled once already: the
//!   second boot in the process is timed);
//! - `icrc1_transfer` update calls per second (synchronous `/api/v4` calls,
//!   each answer's certificate verified), from `TASKS` concurrent client
//!   tasks, each with its own Ed25519 identity;
//! - `icrc1_balance_of` queries per second (each answer's node signature
//!   verified) from `TASKS` tasks;
//! - the CPU time the network's own threads spend per transfer and per
//!   query (the rounds thread and the HTTP workers, from
//!   `/proc/self/task/*/stat`): what the network could serve per core were
//!   the client elsewhere;
//! - the resident memory of the process after the boot.
//!
//! Client and network run in this one process and share the machine's
//! cores: the agents' signing and verification are counted against the
//! network's rates. The client's check of a certificate alone (a BLS
//! pairing, ic-verify-bls-signature 0.6) takes about 2.2 ms of a core, so on
//! two cores no network can be measured above about 900 transfers a second
//! this way.

use crate::report::Figures;
use candid::{Decode, Encode, Nat, Principal};
use ic_agent::Agent;
use ic_agent::identity::{AnonymousIdentity, BasicIdentity, Identity};
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc1::transfer::{TransferArg, TransferError};
use nns_api::ids::LEDGER_CANISTER_ID;
use nns_harness::wasm_gz_path;
use std::sync::Arc;
use std::time::Instant;

/// Concurrent client tasks.
const TASKS: usize = 64;
/// Calls each task makes.
const TRANSFERS_PER_TASK: usize = 40;
const QUERIES_PER_TASK: usize = 200;

fn agent(url: &str, root_key: &[u8], identity: impl Identity + 'static) -> Agent {
    let agent = Agent::builder()
        .with_url(url)
        .with_identity(identity)
        .with_verify_query_signatures(true)
        .with_max_concurrent_requests(TASKS * 2)
        .build()
        .expect("an agent");
    agent.set_root_key(root_key.to_vec());
    agent
}

async fn icrc1_transfer(agent: &Agent, to: Principal, amount: u64) {
    let arg = TransferArg {
        from_subaccount: None,
        to: Account::from(to),
        fee: None,
        created_at_time: None,
        memo: None,
        amount: Nat::from(amount),
    };
    let reply = agent
        .update(&LEDGER_CANISTER_ID, "icrc1_transfer")
        .with_arg(Encode!(&arg).unwrap())
        .await
        .expect("a certified reply");
    Decode!(&reply, Result<Nat, TransferError>)
        .unwrap()
        .expect("the transfer goes through");
}

/// CPU seconds (user and system) spent so far by this process's threads
/// whose name starts with `network-`: the local network's rounds thread and
/// HTTP workers, not the client's.
fn network_cpu_seconds() -> f64 {
    let ticks_per_second = 100.0; // USER_HZ on Linux
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .filter_map(Result::ok)
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.starts_with("network-"))
        })
        .filter_map(|task| std::fs::read_to_string(task.path().join("stat")).ok())
        .filter_map(|stat| {
            // Fields after the parenthesised name: state is the 3rd field,
            // utime and stime the 14th and 15th.
            let rest = &stat[stat.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / ticks_per_second)
        })
        .sum()
}

fn rss_mib() -> f64 {
    crate::report::process_status_bytes("VmRSS") as f64 / (1024.0 * 1024.0)
}

pub fn bench_network(figures: &mut Figures) {
    let modules = wasm_gz_path("ledger").parent().unwrap().to_path_buf();
    let address = "127.0.0.1:0".parse().unwrap();
    // The first boot compiles the modules (or loads them from the disk
    // cache); the second is what a developer waits for.
    drop(icp_economy_network::start(&modules, address, Default::default()).unwrap());
    let start = Instant::now();
    let network = icp_economy_network::start(&modules, address, Default::default()).unwrap();
    let boot = start.elapsed().as_secs_f64() * 1000.0;
    let rss = rss_mib();
    let url = network.url();
    let root_key = network.root_key_der();
    let runtime = tokio::runtime::Runtime::new().unwrap();

    let agents: Vec<Arc<Agent>> = (0..TASKS)
        .map(|n| {
            let identity = BasicIdentity::from_raw_key(&[n as u8 + 1; 32]);
            Arc::new(agent(&url, &root_key, identity))
        })
        .collect();
    let anonymous = agent(&url, &root_key, AnonymousIdentity);
    runtime.block_on(async {
        for agent in &agents {
            icrc1_transfer(&anonymous, agent.get_principal().unwrap(), 1_000_000_000).await;
        }
    });

    let cpu_before = network_cpu_seconds();
    let start = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = agents
            .iter()
            .map(|agent| {
                let agent = agent.clone();
                tokio::spawn(async move {
                    for i in 0..TRANSFERS_PER_TASK {
                        icrc1_transfer(&agent, Principal::from_slice(&[0xBE, i as u8]), 1).await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let transfers = (TASKS * TRANSFERS_PER_TASK) as f64 / start.elapsed().as_secs_f64();
    let transfer_cpu_micros =
        (network_cpu_seconds() - cpu_before) * 1e6 / (TASKS * TRANSFERS_PER_TASK) as f64;

    let cpu_before = network_cpu_seconds();
    let start = Instant::now();
    runtime.block_on(async {
        let tasks: Vec<_> = agents
            .iter()
            .map(|agent| {
                let agent = agent.clone();
                tokio::spawn(async move {
                    let account = Account::from(agent.get_principal().unwrap());
                    for _ in 0..QUERIES_PER_TASK {
                        let reply = agent
                            .query(&LEDGER_CANISTER_ID, "icrc1_balance_of")
                            .with_arg(Encode!(&account).unwrap())
                            .call()
                            .await
                            .expect("a signed reply");
                        Decode!(&reply, Nat).unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let queries = (TASKS * QUERIES_PER_TASK) as f64 / start.elapsed().as_secs_f64();
    let query_cpu_micros =
        (network_cpu_seconds() - cpu_before) * 1e6 / (TASKS * QUERIES_PER_TASK) as f64;
    drop(network);

    let tasks = format!("{TASKS} ic-agent tasks in-process, 2 cores shared");
    figures.rate(
        "network.icrc1_transfer.calls_per_second",
        &format!("network: icrc1_transfer over HTTP, certificates verified ({tasks})"),
        transfers,
        "calls/s",
        "goal >= 1 000; PocketIC 169",
    );
    figures.rate(
        "network.icrc1_balance_of.queries_per_second",
        &format!("network: icrc1_balance_of over HTTP, signatures verified ({tasks})"),
        queries,
        "calls/s",
        "goal >= 5 000; PocketIC 638",
    );
    figures.timing(
        "network.icrc1_transfer.network_cpu_micros",
        "network: its own CPU per icrc1_transfer (rounds thread and HTTP workers)",
        transfer_cpu_micros,
        "us",
        &format!("{:.0} /s per core", 1e6 / transfer_cpu_micros.max(1.0)),
    );
    figures.timing(
        "network.icrc1_balance_of.network_cpu_micros",
        "network: its own CPU per icrc1_balance_of query",
        query_cpu_micros,
        "us",
        &format!("{:.0} /s per core", 1e6 / query_cpu_micros.max(1.0)),
    );
    figures.timing(
        "network.boot.millis",
        "network: boot of the NNS (5 canisters), modules compiled",
        boot,
        "ms",
        "goal <= 1 000",
    );
    figures.timing(
        "network.rss_after_boot.mib",
        "network: resident memory after boot",
        rss,
        "MiB",
        "",
    );
}
