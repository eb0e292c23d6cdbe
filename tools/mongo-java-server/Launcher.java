import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * Starts mongo-java-server on a chosen host and port (the shipped main classes only bind localhost:27017).
 *
 * Usage: Launcher --backend memory|h2 [--file path.mv] [--host 127.0.0.1] [--port 0]
 *
 * It claims MongoDB 7.0 (wire version 21) so that the MongoDB Node driver 7 (Mongoose 9) accepts it.
 * Prints "LISTENING host:port" once bound. Exits when its standard input closes (the parent died)
 * or on SIGTERM/SIGINT, closing the backend so an H2 file is committed.
 */
public final class Launcher {
  private static final MongoVersion MONGO_7_0 = new MongoVersion() {
    @Override public List<Integer> getVersionArray() { return List.of(7, 0, 0); }
    @Override public int getWireVersion() { return 21; }
  };

  public static void main(String[] args) throws Exception {
    String backendName = "memory";
    String file = null;
    String host = "127.0.0.1";
    int port = 0;
    for (int i = 0; i < args.length; i += 2) {
      String value = i + 1 < args.length ? args[i + 1] : "";
      switch (args[i]) {
        case "--backend" -> backendName = value;
        case "--file" -> file = value;
        case "--host" -> host = value;
        case "--port" -> port = Integer.parseInt(value);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    MongoBackend backend = switch (backendName) {
      case "memory" -> new MemoryBackend();
      case "h2" -> {
        if (file == null) throw new IllegalArgumentException("--file is required with --backend h2");
        yield new H2Backend(file);
      }
      default -> throw new IllegalArgumentException("unknown backend " + backendName);
    };
    backend.version(MONGO_7_0);

    MongoServer server = new MongoServer(backend);
    server.bind(host, port);
    InetSocketAddress address = server.getLocalAddress();

    Thread shutdown = new Thread(() -> {
      server.shutdownNow();
      backend.close();
    }, "shutdown");
    Runtime.getRuntime().addShutdownHook(shutdown);

    System.out.println("LISTENING " + address.getHostString() + ":" + address.getPort());
    System.out.flush();

    // Our parent keeps our stdin open; when it goes away, so do we.
    Thread watchdog = new Thread(() -> {
      try {
        while (System.in.read() != -1) { /* ignore input */ }
      } catch (Exception ignored) {
        // treat as closed
      }
      System.exit(0);
    }, "stdin-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
  }
}
