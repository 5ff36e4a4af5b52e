/*
 * The Lucene peer of tools/examples/search_bench.rs (scripts/bench.d/20-search.sh), next to
 * the bm25s one (search_bm25s.py, whose interface and output it mirrors). Lucene is what
 * Search-R1 and BrowseComp-Plus search with, through Pyserini/Anserini, so this uses
 * Anserini's own defaults from the fat jar that ships inside the pinned pyserini wheel
 * (scripts/bench/requirements-lucene.txt; Anserini 0.25.0 = Lucene 9.9.1, built for Java 11,
 * the newest that runs on our JDK 17):
 *   - analyzer: Anserini's DefaultEnglishAnalyzer (StandardTokenizer, English possessive,
 *     lower case, Lucene's English stop words, Porter stemmer);
 *   - ranking: BM25Similarity(k1=0.9, b=0.4), Anserini's BM25 defaults;
 *   - query: Anserini's BagOfWordsQueryGenerator (the analyzer's tokens as SHOULD TermQuerys,
 *     boosted by repeat count), so no query parser and no syntax to escape; an empty query
 *     is an empty BooleanQuery, which matches nothing; the 1024-clause cap is lifted.
 *
 * Usage (JDK 11+ single-file source launch):
 *   java -cp FATJAR scripts/bench/SearchLucene.java index PASSAGES.jsonl OUTDIR
 *   java -cp FATJAR scripts/bench/SearchLucene.java run OUTDIR QUERIES.jsonl WORKERS
 *
 * index: one Lucene document per JSONL line {"id","title","text"}: contents = title + "\n"
 * + text (frequencies, no positions: Anserini's default without -storePositions), id as a
 * stored string (as Anserini does), title as binary doc values (read per hit, cheaper than
 * stored fields). One feeding thread so docids follow the file order (deterministic score
 * ties, like bm25s), merged to one segment (Anserini's -optimize). Not timed against simweb.
 *
 * run: opens the index (MMapDirectory), answers the queries one at a time with WORKERS
 * threads sharing one IndexSearcher, takes the top 50 passages and keeps the first 10
 * distinct titles. Unlike bm25s, ONE UNTIMED PASS over all the queries runs first: the JIT
 * compiles Lucene's hot loops only after it has seen them run, and a real Lucene deployment
 * is a long-lived, warm JVM. The timed pass (parse + search + titles per query) is printed as
 * one JSON line with the same fields and percentile rule as search_bm25s.py.
 */

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.anserini.analysis.DefaultEnglishAnalyzer;
import io.anserini.search.query.BagOfWordsQueryGenerator;
import java.io.BufferedReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.document.BinaryDocValuesField;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexOptions;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.MMapDirectory;
import org.apache.lucene.util.BytesRef;

public class SearchLucene {
    static final String ID = "id", CONTENTS = "contents", TITLE = "title";
    static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) throws Exception {
        if (args.length == 3 && args[0].equals("index")) {
            index(Path.of(args[1]), Path.of(args[2]));
        } else if (args.length == 4 && args[0].equals("run")) {
            run(Path.of(args[1]), Path.of(args[2]), Integer.parseInt(args[3]));
        } else {
            System.err.println("usage: SearchLucene index PASSAGES.jsonl OUTDIR | run OUTDIR QUERIES.jsonl WORKERS");
            System.exit(2);
        }
    }

    // Anserini's defaults (see the header); the same objects for indexing and search.
    static Analyzer analyzer() {
        return DefaultEnglishAnalyzer.newDefaultInstance();
    }

    static BM25Similarity similarity() {
        return new BM25Similarity(0.9f, 0.4f);
    }

    static String stripReplica(String title) {
        int pos = title.lastIndexOf(" (replica ");
        return pos >= 0 && title.endsWith(")") ? title.substring(0, pos) : title;
    }

    static void index(Path jsonl, Path out) throws Exception {
        long started = System.nanoTime();
        // Anserini's "contents" field without positions: BM25 needs only term frequencies.
        FieldType contentsType = new FieldType();
        contentsType.setIndexOptions(IndexOptions.DOCS_AND_FREQS);
        contentsType.setTokenized(true);
        contentsType.freeze();
        IndexWriterConfig config = new IndexWriterConfig(analyzer())
                .setOpenMode(IndexWriterConfig.OpenMode.CREATE)
                .setSimilarity(similarity())
                .setRAMBufferSizeMB(1024)
                .setUseCompoundFile(false);
        long docs = 0;
        try (Directory dir = new MMapDirectory(out);
                IndexWriter writer = new IndexWriter(dir, config);
                BufferedReader lines = Files.newBufferedReader(jsonl, StandardCharsets.UTF_8)) {
            for (String line; (line = lines.readLine()) != null; ) {
                if (line.isBlank()) continue;
                JsonNode item = JSON.readTree(line);
                String title = item.path("title").asText();
                Document doc = new Document();
                doc.add(new StringField(ID, item.path("id").asText(), Field.Store.YES));
                doc.add(new Field(CONTENTS, title + "\n" + item.path("text").asText(), contentsType));
                doc.add(new BinaryDocValuesField(TITLE, new BytesRef(title)));
                writer.addDocument(doc);
                docs++;
            }
            // One segment, as Anserini's -optimize: a searcher's per-query cost is then that
            // of one term dictionary and postings list per term.
            writer.forceMerge(1);
            writer.commit();
        }
        System.err.printf("lucene: indexed %d passages in %.1f s%n", docs, (System.nanoTime() - started) / 1e9);
    }

    // The 10 first distinct titles of the top hits (search_bm25s.py's `seen`).
    static List<String> titles(DirectoryReader reader, ScoreDoc[] hits) throws Exception {
        List<LeafReaderContext> leaves = reader.leaves();
        List<String> seen = new ArrayList<>(10);
        for (ScoreDoc hit : hits) {
            LeafReaderContext leaf = leaves.get(ReaderUtil.subIndex(hit.doc, leaves));
            // A fresh doc-values iterator per hit: they only move forward, hits are in score order.
            BinaryDocValues values = leaf.reader().getBinaryDocValues(TITLE);
            if (values == null || !values.advanceExact(hit.doc - leaf.docBase)) continue;
            String title = values.binaryValue().utf8ToString();
            if (!seen.contains(title)) seen.add(title);
            if (seen.size() == 10) break;
        }
        return seen;
    }

    static void run(Path indexDir, Path queriesPath, int workers) throws Exception {
        List<String> qs = new ArrayList<>(), golds = new ArrayList<>();
        for (String line : Files.readAllLines(queriesPath, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            JsonNode item = JSON.readTree(line);
            qs.add(item.path("q").asText());
            // Python's `if item.get("gold")`: absent, null and "" all mean unjudged.
            String gold = item.path("gold").isTextual() ? item.get("gold").asText() : "";
            golds.add(gold.isEmpty() ? null : gold);
        }
        int n = qs.size();
        if (n == 0) throw new IllegalArgumentException("no queries in " + queriesPath);

        // Lucene refuses queries of more than 1024 clauses (one per distinct term here); bm25s
        // and simweb take any length, so lift the cap rather than fail on a pasted paragraph.
        IndexSearcher.setMaxClauseCount(Integer.MAX_VALUE);
        try (Directory dir = new MMapDirectory(indexDir); DirectoryReader reader = DirectoryReader.open(dir)) {
            IndexSearcher searcher = new IndexSearcher(reader); // no executor: one thread per query
            searcher.setSimilarity(similarity());
            // "cold" = no result caching: the warm-up pass must warm the JIT, not a cache (Lucene's
            // query cache holds only non-scoring clauses, but rule it out).
            searcher.setQueryCache(null);
            Analyzer analyzer = analyzer(); // thread-safe: per-thread token stream reuse
            BagOfWordsQueryGenerator generator = new BagOfWordsQueryGenerator(); // stateless
            int k = Math.max(1, Math.min(50, reader.numDocs()));

            double[] ms = new double[n];
            Boolean[] hits = new Boolean[n];
            List<Callable<Void>> tasks = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                final int at = i;
                tasks.add(() -> {
                    long t = System.nanoTime();
                    Query query = generator.buildQuery(CONTENTS, analyzer, qs.get(at));
                    List<String> seen = titles(reader, searcher.search(query, k).scoreDocs);
                    ms[at] = (System.nanoTime() - t) / 1e6;
                    String gold = golds.get(at);
                    hits[at] = gold == null ? null : seen.stream().anyMatch(s -> stripReplica(s).equals(gold));
                    return null;
                });
            }

            ExecutorService pool = Executors.newFixedThreadPool(workers);
            try {
                for (Future<Void> f : pool.invokeAll(tasks)) f.get(); // untimed JIT warm-up pass
                long started = System.nanoTime();
                for (Future<Void> f : pool.invokeAll(tasks)) f.get(); // get(): rethrow failures
                double wall = (System.nanoTime() - started) / 1e9;

                double[] lat = ms.clone();
                Arrays.sort(lat);
                int judged = 0, found = 0;
                for (Boolean h : hits) {
                    if (h == null) continue;
                    judged++;
                    if (h) found++;
                }
                System.out.println("{\"engine\": \"lucene\", \"mode\": \"cold\", \"workers\": " + workers
                        + ", \"queries\": " + n
                        + ", \"p50_ms\": " + pct(lat, 0.5) + ", \"p99_ms\": " + pct(lat, 0.99)
                        + ", \"qps\": " + (n / wall)
                        + ", \"recall_at_10\": " + ((double) found / Math.max(1, judged))
                        + ", \"judged\": " + judged + "}");
            } finally {
                pool.shutdown();
            }
        }
    }

    // search_bm25s.py's lat[round((n - 1) * p)]; Python rounds halves to even, as rint does.
    static double pct(double[] sorted, double p) {
        return sorted[(int) Math.rint((sorted.length - 1) * p)];
    }
}
