import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Starts mongo-java-server on a chosen host and port (the shipped main classes only bind localhost:27017).
 *
 * Usage: Launcher --backend memory|memory-shared-strings|h2 [--file path.mv] [--host 127.0.0.1] [--port 0]
 *
 * memory-shared-strings: the memory backend, keeping one copy of each field name and short string value
 * (String.intern) in the documents it stores. The decoder makes a new String for every field name of every
 * document, so a big store's heap is about half strings; sharing them roughly halves it (for benchmarks with
 * millions of documents). Stored documents only: answers and queries are unchanged.
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
      case "memory-shared-strings" -> new SharedStringsBackend();
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

  /** Strings longer than this are stored as they come (ids and text are rarely repeated; names and codes are). */
  private static final int SHARED_STRING_MAX_LENGTH = 64;
  /** Arrays longer than this are stored as they come (walking them on each update would cost more than it saves). */
  private static final int SHARED_ARRAY_MAX_LENGTH = 256;

  static final class SharedStringsBackend extends MemoryBackend {
    @Override
    public MemoryDatabase openOrCreateDatabase(String databaseName) {
      return new SharedStringsDatabase(databaseName, getCursorRegistry());
    }
  }

  static final class SharedStringsDatabase extends MemoryDatabase {
    SharedStringsDatabase(String databaseName, CursorRegistry cursorRegistry) {
      super(databaseName, cursorRegistry);
    }

    @Override
    protected MemoryCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
      return new SharedStringsCollection(this, collectionName, options, cursorRegistry);
    }
  }

  static final class SharedStringsCollection extends MemoryCollection {
    SharedStringsCollection(MongoDatabase database, String collectionName, CollectionOptions options, CursorRegistry cursorRegistry) {
      super(database, collectionName, options, cursorRegistry);
    }

    @Override
    protected Integer addDocumentInternal(Document document) {
      // Not visible to any query yet: its fields are put back under shared names.
      Document copy = sharedCopy(document);
      document.clear();
      document.putAll(copy);
      return super.addDocumentInternal(document);
    }

    @Override
    protected void handleUpdate(Integer position, Document oldDocument, Document newDocument) {
      // The stored document, as updated, which a query on another connection may be reading: its values are
      // swapped one reference at a time, never removed (its new field names stay as they came).
      for (Map.Entry<String, Object> entry : newDocument.entrySet()) entry.setValue(shared(entry.getValue()));
    }
  }

  /** A copy of the document with each field name and short string value shared, all the way down. */
  static Document sharedCopy(Document document) {
    Document copy = new Document();
    for (Map.Entry<String, Object> entry : document.entrySet()) copy.put(entry.getKey().intern(), shared(entry.getValue()));
    return copy;
  }

  /** The value with its strings shared: a short string's shared copy; a document or short array copied so. */
  static Object shared(Object value) {
    if (value instanceof String string) return string.length() <= SHARED_STRING_MAX_LENGTH ? string.intern() : string;
    if (value instanceof Document document) return sharedCopy(document);
    if (value instanceof List<?> list && list.size() <= SHARED_ARRAY_MAX_LENGTH) {
      List<Object> copy = new ArrayList<>(list.size());
      for (Object item : list) copy.add(shared(item));
      return copy;
    }
    return value;
  }
}
