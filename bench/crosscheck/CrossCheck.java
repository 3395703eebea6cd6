// Sluice's semantic cross-check, Spark's side: the same pipelines on the same batches, in
// Spark Streaming (JVM, DStream API), printed in Spark's `print` format.
// usage: java -cp "classes:$SPARK_JARS/*" CrossCheck INPUT MODE BATCH_MS BATCHES_TO_RUN
//   INPUT: one batch per line, its records separated by `|`; an empty line is an empty batch.
//   MODE: wc | window (reduceByKeyAndWindow over 3 batches, sliding 1, with an inverse) |
//         state (updateStateByKey summing).
import java.nio.file.*;
import java.util.*;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.Optional;
import org.apache.spark.streaming.Durations;
import org.apache.spark.streaming.api.java.*;
import scala.Tuple2;

public class CrossCheck {
  public static void main(String[] a) throws Exception {
    List<String> input = Files.readAllLines(Paths.get(a[0]));
    String mode = a[1];
    long batchMs = Long.parseLong(a[2]);
    int run = Integer.parseInt(a[3]);
    SparkConf conf = new SparkConf().setMaster("local[2]").setAppName("CrossCheck")
        .set("spark.ui.enabled", "false").set("spark.default.parallelism", "2");
    JavaStreamingContext ssc = new JavaStreamingContext(conf, Durations.milliseconds(batchMs));
    ssc.sparkContext().setLogLevel("ERROR");
    ssc.checkpoint(Files.createTempDirectory("crosscheck-ckpt").toString());
    Queue<JavaRDD<String>> queue = new LinkedList<>();
    for (String batch : input) {
      List<String> records = batch.isEmpty() ? new ArrayList<>() : Arrays.asList(batch.split("\\|"));
      queue.add(ssc.sparkContext().parallelize(records, 2));
    }
    JavaDStream<String> lines = ssc.queueStream(queue, true);
    JavaPairDStream<String, Long> pairs = lines
        .flatMap(l -> Arrays.stream(l.trim().split("\\s+")).filter(w -> !w.isEmpty()).iterator())
        .mapToPair(w -> new Tuple2<>(w, 1L));
    JavaPairDStream<String, Long> out;
    switch (mode) {
      case "wc":
        out = pairs.reduceByKey((x, y) -> x + y);
        break;
      case "window":
        out = pairs.reduceByKeyAndWindow((x, y) -> x + y, (x, y) -> x - y,
            Durations.milliseconds(3 * batchMs), Durations.milliseconds(batchMs));
        break;
      case "state":
        out = pairs.updateStateByKey((List<Long> vs, Optional<Long> s) -> {
          long sum = s.orElse(0L);
          for (Long v : vs) sum += v;
          return Optional.of(sum);
        });
        break;
      default:
        throw new IllegalArgumentException("MODE is wc, window or state, not " + mode);
    }
    out.print(1_000_000);
    ssc.start();
    ssc.awaitTerminationOrTimeout(batchMs * run + batchMs / 2);
    ssc.stop(true, false);
  }
}
