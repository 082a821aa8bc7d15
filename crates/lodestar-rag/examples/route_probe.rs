//! Prints how questions are routed (a development aid): `cargo run -p lodestar-rag --example route_probe -- "问题" …`
fn main() {
    let d = lodestar_dict::Dictionaries::builtin().expect("dictionaries");
    let r = lodestar_rag::Router::new(&d);
    let reference = lodestar_core::Month { year: 2026, month: 10 };
    for q in std::env::args().skip(1) {
        let route = r.route(&q, reference);
        println!("{q}\n  {}", serde_json::to_string(&route).unwrap_or_default());
        for req in route.requests(reference, None) {
            println!("  -> {}", req.command_line());
        }
    }
}
