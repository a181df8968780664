// pgjdbc client check for Shale; driven by test_jdbc.py.
//
// Usage: java -Duser.timezone=UTC -cp <dir>:postgresql.jar Jdbc <jdbc-url> <user> <password> <table-prefix>
//
// Prints one line per check, either
//   <key>=<value>
// or
//   <key>!ERROR <SQLState> <exception class>: <message>
// and always exits 0 unless the JVM itself fails; the pytest side asserts on the lines.

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

public class Jdbc {
    static PrintStream out;

    interface Check {
        String run() throws Exception;
    }

    static void step(String key, Check check) {
        try {
            out.println(key + "=" + check.run());
        } catch (SQLException e) {
            out.println(key + "!ERROR " + e.getSQLState() + " " + oneLine(e));
        } catch (Throwable e) {
            out.println(key + "!ERROR - " + oneLine(e));
        }
        out.flush();
    }

    static String oneLine(Throwable e) {
        return (e.getClass().getName() + ": " + e.getMessage()).replace('\n', ' ');
    }

    static final String TYPE_COLUMNS =
        "c_smallint smallint, c_integer integer, c_bigint bigint, c_dec decimal(12,3), "
            + "c_dec38 decimal(38,6), c_real real, c_double double precision, c_bool boolean, "
            + "c_char char(5), c_varchar varchar(32), c_date date, c_ts timestamp, c_tstz timestamptz";
    static final String TYPE_NAMES =
        "c_smallint, c_integer, c_bigint, c_dec, c_dec38, c_real, c_double, c_bool, "
            + "c_char, c_varchar, c_date, c_ts, c_tstz";
    static final String TYPE_ROW_SQL =
        "-32768, 2147483647, 9007199254740993, 123456789.125, 12345678901234567890.123456, "
            + "1.5, 12345.6789, true, 'abcde', 'héllo wörld', '2024-02-29', "
            + "'2024-02-29 13:14:15.123456', '2024-02-29 13:14:15.5+00'";

    static String readTypedRow(ResultSet rs) throws SQLException {
        List<String> v = new ArrayList<>();
        v.add(String.valueOf(rs.getShort(1)));
        v.add(String.valueOf(rs.getInt(2)));
        v.add(String.valueOf(rs.getLong(3)));
        v.add(rs.getBigDecimal(4).toPlainString());
        v.add(rs.getBigDecimal(5).toPlainString());
        v.add(String.valueOf(rs.getFloat(6)));
        v.add(String.valueOf(rs.getDouble(7)));
        v.add(String.valueOf(rs.getBoolean(8)));
        v.add(rs.getString(9));
        v.add(rs.getString(10));
        v.add(rs.getDate(11).toString());
        v.add(rs.getTimestamp(12).toString());
        v.add(rs.getObject(13, OffsetDateTime.class).toInstant().toString());
        return String.join("|", v);
    }

    public static void main(String[] args) throws Exception {
        out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        String url = args[0];
        String prefix = args[3];
        Properties props = new Properties();
        props.setProperty("user", args[1]);
        props.setProperty("password", args[2]);

        Connection conn;
        try {
            conn = DriverManager.getConnection(url, props);
            out.println("connect=ok");
        } catch (SQLException e) {
            out.println("connect!ERROR " + e.getSQLState() + " " + oneLine(e));
            return;
        }

        step("server_version", () ->
            conn.unwrap(org.postgresql.PGConnection.class).getParameterStatus("server_version"));

        step("version", () -> {
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("select version()")) {
                rs.next();
                return rs.getString(1);
            }
        });

        step("param_arith", () -> {
            try (PreparedStatement ps = conn.prepareStatement("select ? + 1")) {
                List<String> got = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    ps.setInt(1, 41);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        got.add(String.valueOf(rs.getInt(1)));
                    }
                }
                return String.join(",", got);
            }
        });

        String ptable = prefix + "_params";
        step("params_create", () -> {
            try (Statement st = conn.createStatement()) {
                st.execute("create table " + ptable + " (id integer, big bigint, num numeric(12,3), "
                    + "txt varchar(40), flag boolean, d date, ts timestamp)");
                return "ok";
            }
        });
        step("params_insert", () -> {
            try (PreparedStatement ps = conn.prepareStatement(
                    "insert into " + ptable + " values (?, ?, ?, ?, ?, ?, ?)")) {
                ps.setInt(1, 1);
                ps.setLong(2, 9007199254740993L);
                ps.setBigDecimal(3, new BigDecimal("123456789.125"));
                ps.setString(4, "O'Brien ünïcode");
                ps.setBoolean(5, true);
                ps.setDate(6, Date.valueOf("2024-02-29"));
                ps.setTimestamp(7, Timestamp.valueOf("2024-02-29 13:14:15.123456"));
                return String.valueOf(ps.executeUpdate());
            }
        });
        step("params_insert_java_time", () -> {
            // Same statement with java.time values (typed DATE/TIMESTAMP parameters
            // instead of the untyped strings java.sql.Date/Timestamp produce).
            try (PreparedStatement ps = conn.prepareStatement(
                    "insert into " + ptable + " values (?, ?, ?, ?, ?, ?, ?)")) {
                ps.setInt(1, 2);
                ps.setLong(2, -9007199254740993L);
                ps.setBigDecimal(3, new BigDecimal("-0.001"));
                ps.setString(4, "second");
                ps.setBoolean(5, false);
                ps.setObject(6, java.time.LocalDate.of(1999, 12, 31));
                ps.setObject(7, java.time.LocalDateTime.of(2000, 1, 1, 0, 0, 0, 500000000));
                int n = ps.executeUpdate();
                try (Statement st = conn.createStatement();
                     ResultSet rs = st.executeQuery("select id, big, num, txt, flag, d, ts from " + ptable + " where id = 2")) {
                    if (!rs.next()) {
                        return n + " <no row>";
                    }
                    return n + " " + rs.getInt(1) + "|" + rs.getLong(2) + "|" + rs.getBigDecimal(3).toPlainString()
                        + "|" + rs.getString(4) + "|" + rs.getBoolean(5) + "|" + rs.getDate(6) + "|" + rs.getTimestamp(7);
                }
            }
        });
        step("params_select", () -> {
            // Executed several times so that, with prepareThreshold=1, later
            // executions use the named server-side statement and binary results.
            try (PreparedStatement ps = conn.prepareStatement(
                    "select id, big, num, txt, flag, d, ts from " + ptable
                        + " where id = ? and big = ? and txt = ? and flag = ?")) {
                List<String> got = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    ps.setInt(1, 1);
                    ps.setLong(2, 9007199254740993L);
                    ps.setString(3, "O'Brien ünïcode");
                    ps.setBoolean(4, true);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            got.add("<no row>");
                            continue;
                        }
                        got.add(rs.getInt(1) + "|" + rs.getLong(2) + "|" + rs.getBigDecimal(3).toPlainString()
                            + "|" + rs.getString(4) + "|" + rs.getBoolean(5) + "|" + rs.getDate(6)
                            + "|" + rs.getTimestamp(7));
                    }
                }
                return String.join(" ;; ", got);
            }
        });

        step("error_sqlstate", () -> {
            try (Statement st = conn.createStatement()) {
                st.executeQuery("select * from no_such_table");
                return "no error raised";
            } catch (SQLException e) {
                return e.getSQLState() + " " + e.getMessage().replace('\n', ' ');
            }
        });
        step("after_error", () -> {
            try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("select 1")) {
                rs.next();
                return String.valueOf(rs.getInt(1));
            }
        });

        String ttable = prefix + "_types";
        step("types_create", () -> {
            try (Statement st = conn.createStatement()) {
                st.execute("create table " + ttable + " (id integer, " + TYPE_COLUMNS + ")");
                st.execute("insert into " + ttable + " values (1, " + TYPE_ROW_SQL + ")");
                st.execute("insert into " + ttable + " (id) values (2)");
                return "ok";
            }
        });
        step("types_simple", () -> {
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("select " + TYPE_NAMES + " from " + ttable + " where id = 1")) {
                rs.next();
                return readTypedRow(rs);
            }
        });
        step("types_prepared", () -> {
            try (PreparedStatement ps = conn.prepareStatement(
                    "select " + TYPE_NAMES + " from " + ttable + " where id = ?")) {
                List<String> got = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    ps.setInt(1, 1);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        got.add(readTypedRow(rs));
                    }
                }
                return String.join(" ;; ", got);
            }
        });
        step("types_classes", () -> {
            try (PreparedStatement ps = conn.prepareStatement(
                    "select " + TYPE_NAMES + " from " + ttable + " where id = ?")) {
                ps.setInt(1, 1);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    List<String> names = new ArrayList<>();
                    for (int c = 1; c <= 13; c++) {
                        names.add(rs.getObject(c).getClass().getSimpleName());
                    }
                    return String.join(",", names);
                }
            }
        });
        step("types_metadata", () -> {
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("select " + TYPE_NAMES + " from " + ttable + " where id = 1")) {
                ResultSetMetaData md = rs.getMetaData();
                List<String> names = new ArrayList<>();
                for (int c = 1; c <= md.getColumnCount(); c++) {
                    names.add(md.getColumnTypeName(c));
                }
                return String.join(",", names) + " dec=" + md.getPrecision(4) + "," + md.getScale(4)
                    + " varchar=" + md.getPrecision(10);
            }
        });
        step("types_nulls", () -> {
            try (PreparedStatement ps = conn.prepareStatement(
                    "select " + TYPE_NAMES + " from " + ttable + " where id = ?")) {
                ps.setInt(1, 2);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    int nulls = 0;
                    for (int c = 1; c <= 13; c++) {
                        if (rs.getObject(c) == null) {
                            nulls++;
                        }
                    }
                    return String.valueOf(nulls);
                }
            }
        });

        String xtable = prefix + "_txn";
        step("transaction", () -> {
            try (Statement st = conn.createStatement()) {
                st.execute("create table " + xtable + " (id integer)");
            }
            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.execute("insert into " + xtable + " values (1)");
                st.execute("insert into " + xtable + " values (2)");
                conn.commit();
            } finally {
                conn.setAutoCommit(true);
            }
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("select count(*) from " + xtable)) {
                rs.next();
                return String.valueOf(rs.getLong(1));
            }
        });

        conn.close();
        out.println("done=ok");
    }
}
