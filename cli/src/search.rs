//! `simweb search`: query a corpus from the command line (title, url, snippet, score).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use simweb_dense::{DenseRetriever, SearchMode};
use simweb_wikidump::{Corpus, Lang, SearchQuery};

#[derive(Debug, Args)]
pub struct SearchArgs {
    #[arg(long, env = "SIMWEB_DATA")]
    pub data: PathBuf,
    /// Print hits as a JSON array.
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// Index to query (en or zh); default: detected from the query.
    #[arg(long, value_parser = super::ingest::parse_lang)]
    pub lang: Option<Lang>,
    /// How to rank: bm25, dense or hybrid (dense and hybrid need `simweb index dense`).
    #[arg(long, default_value = "bm25")]
    pub mode: SearchMode,
    /// Rank whole passages (Search-R1's `/retrieve`) instead of pages.
    #[arg(long)]
    pub passages: bool,
    /// The embedding model directory for dense and hybrid (default: what `make setup`
    /// writes).
    #[arg(long, env = "SIMWEB_DENSE_MODEL")]
    pub model: Option<PathBuf>,
    /// The query; several words are joined by spaces.
    #[arg(required = true)]
    pub query: Vec<String>,
}

pub fn run(args: SearchArgs) -> anyhow::Result<()> {
    let corpus = Corpus::open(&args.data)
        .with_context(|| format!("cannot open corpus {}", args.data.display()))?;
    let q = SearchQuery {
        text: args.query.join(" "),
        top_k: args.top_k,
        lang: args.lang,
    };
    let dense = match args.mode {
        SearchMode::Bm25 => None,
        SearchMode::Dense | SearchMode::Hybrid => {
            let model = args.model.unwrap_or_else(simweb_dense::default_model_dir);
            Some(
                DenseRetriever::open(&args.data, &model, &Default::default())
                    .context("cannot open the dense index")?,
            )
        }
    };
    if args.passages {
        let hits = simweb_dense::retrieve(&corpus, dense.as_ref(), &q, args.mode)
            .context("retrieve failed")?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&hits)?);
            return Ok(());
        }
        for (i, h) in hits.iter().enumerate() {
            println!(
                "{}. {} #{} ({:.4})\n   {}\n",
                i + 1,
                h.title,
                h.ordinal,
                h.score,
                h.text.replace('\n', " ")
            );
        }
        return Ok(());
    }
    let hits =
        simweb_dense::search(&corpus, dense.as_ref(), &q, args.mode).context("search failed")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&hits)?);
        return Ok(());
    }
    if hits.is_empty() {
        println!("No results for {:?}.", q.text);
    }
    for (i, h) in hits.iter().enumerate() {
        println!("{}. {} ({:.3})\n   {}", i + 1, h.title, h.score, h.url);
        if !h.heading_path.is_empty() {
            println!("   § {}", h.heading_path.join(" > "));
        }
        println!("   {}\n", h.highlighted.replace('\n', " "));
    }
    Ok(())
}
