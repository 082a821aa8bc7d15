use lodestar_infer::*;
use std::path::Path;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new("/root/.cache/lodestar/models");
    let store = ModelStore::new(dir).unwrap();
    match args[1].as_str() {
        "import" => {
            let r = store.import(Path::new(&args[2]), &[], true).unwrap();
            println!("{}", serde_json::to_string_pretty(&r).unwrap());
        }
        "list" => println!("{}", serde_json::to_string_pretty(&store.list()).unwrap()),
        "dtypes" => {
            let mut f = std::fs::File::open(&args[2]).unwrap();
            let c = candle_core::quantized::gguf_file::Content::read(&mut f).unwrap();
            let mut v: Vec<_> = c.tensor_infos.iter().filter(|(k,_)| !k.starts_with("blk.") || k.starts_with("blk.0.") || k.starts_with("blk.1.")).map(|(k,t)| format!("{k} {:?} {:?}", t.ggml_dtype, t.shape)).collect();
            v.sort(); for x in v { println!("{x}"); }
            for (k, val) in c.metadata.iter() { if !k.starts_with("tokenizer.ggml.") { println!("{k} = {:?}", format!("{val:?}").chars().take(100).collect::<String>()); } }
        }
        "cmp" => {
            let chat = open_gguf_chat(dir, Some(&args[2]), &ChatOptions::default()).unwrap();
            let prompt = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n用一句话介绍全钢子午线轮胎。<|im_end|>\n<|im_start|>assistant\n";
            let toks = chat.encode_prompt(prompt).unwrap();
            let full = chat.logits_full(&toks).unwrap();
            let m = chat.model();
            let mut cache = m.new_cache();
            let mut inc = vec![];
            for t in &toks { inc = m.forward(&[*t], &mut cache).unwrap(); }
            let maxdiff = full.iter().zip(&inc).map(|(a,b)| (a-b).abs()).fold(0f32, f32::max);
            let top = |v: &Vec<f32>| { let mut i: Vec<usize> = (0..v.len()).collect(); i.sort_by(|&a,&b| v[b].total_cmp(&v[a])); i.truncate(5); i.iter().map(|&j| (j, v[j])).collect::<Vec<_>>() };
            let gen = |toks: &Vec<u32>, batched: bool| { let mut cache = m.new_cache(); let mut l = if batched { m.forward(toks, &mut cache).unwrap() } else { let mut l=vec![]; for t in toks { l = m.forward(&[*t], &mut cache).unwrap(); } l }; let mut out = vec![]; for _ in 0..24 { let n = lodestar_infer::llm::argmax(&l); out.push(n); l = m.forward(&[n], &mut cache).unwrap(); } chat.tokenizer().decode(&out, false) };
            println!("batched: {}\nincr: {}", gen(&toks, true), gen(&toks, false));
            println!("maxdiff {maxdiff}\nfull {:?}\ninc  {:?}", top(&full), top(&inc));
        }
        _ => {}
    }
}
