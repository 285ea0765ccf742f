package dev.sluice.cli.bench;

import dev.sluice.cli.Output;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Rectangle;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.CombinedDomainCategoryPlot;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.svg.SVGGraphics2D;

/** The run's results as a table (stdout), JSON, and a chart (PNG and SVG, drawn with JFreeChart). */
final class Report {
    static final int WIDTH = 1000, HEIGHT = 1100;

    private Report() {}

    static Map<String, Object> json(Map<String, Object> run, List<Results.Row> rows) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("run", run);
        out.put("metrics", Map.of(
                Results.FULL_SYNC_MS, "every Service's rules written from nothing, wall-clock ms (null: the path has no rules)",
                Results.ONE_CHANGE_MS, "one Service added beside them until it is in the kernel, wall-clock ms",
                Results.CONN_PER_SEC, "new TCP connections per second to the last Service, one at a time (sluice-pod bench --mode crr)",
                Results.RR_P50_US, "request/response round trip on one connection, median, microseconds (--mode rr)",
                Results.RR_P99_US, "request/response round trip, 99th percentile, microseconds",
                "connVsBaseline", "connPerSec over the routed baseline's in the same round, median over rounds"));
        out.put("rows", rows);
        return out;
    }

    static void table(PrintStream out, List<Results.Row> rows) {
        List<List<String>> t = new ArrayList<>();
        t.add(Output.row("SERVICES", "PATH", "FULL SYNC ms", "ONE CHANGE ms", "NEW CONN/s", "vs ROUTED", "RR p50 us", "RR p99 us"));
        for (Results.Row r : rows)
            t.add(Output.row(String.format("%,d", r.services()), r.path(), ms(r.fullSyncMs()), ms(r.oneChangeMs()),
                    String.format("%,.0f", r.connPerSec()), String.format("%.2fx", r.connVsBaseline()),
                    String.format("%.1f", r.rrP50Us()), String.format("%.1f", r.rrP99Us())));
        Output.table(out, t);
    }

    private static String ms(Double v) {
        if (v == null) return "-";
        return v >= 100 ? String.format("%,.0f", v) : String.format("%.1f", v);
    }

    /** Three bar charts over the Service counts: full sync (log scale), new connections/s, rr p99. */
    static JFreeChart chart(List<Results.Row> rows, String subtitle) {
        var sync = new DefaultCategoryDataset();
        var conn = new DefaultCategoryDataset();
        var p99 = new DefaultCategoryDataset();
        for (Results.Row r : rows) {
            String n = String.format("%,d Services", r.services());
            if (r.fullSyncMs() != null) sync.addValue(r.fullSyncMs(), r.path(), n);
            conn.addValue(r.connPerSec(), r.path(), n);
            p99.addValue(r.rrP99Us(), r.path(), n);
        }
        var plot = new CombinedDomainCategoryPlot(new CategoryAxis());
        var log = new LogAxis("full sync, ms (log scale)");
        log.setSmallestValue(0.1);
        log.setAutoTickUnitSelection(false);
        log.setTickUnit(new org.jfree.chart.axis.NumberTickUnit(1)); // one tick per power of ten
        log.setNumberFormatOverride(new java.text.DecimalFormat("#,##0.#"));
        var syncPlot = subplot(sync, log);
        ((BarRenderer) syncPlot.getRenderer()).setBase(0.1); // bars rise from the axis' floor, not from 0
        plot.add(syncPlot, 1);
        plot.add(subplot(conn, new NumberAxis("new connections / s")), 1);
        plot.add(subplot(p99, new NumberAxis("request/response p99, µs")), 1);
        // the baseline has no sync bars: every subplot keeps the same colour per path
        var chart = new JFreeChart("sluice bench: Service data paths side by side", new Font("SansSerif", Font.BOLD, 16), plot, true);
        chart.addSubtitle(new org.jfree.chart.title.TextTitle(subtitle));
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    /** By path, in the order paths are set up: the routed baseline grey, Sluice's eBPF path green. */
    private static final Color[] COLORS = {new Color(0x999999), new Color(0xd95f02), new Color(0xe6ab02), new Color(0x7570b3), new Color(0x1b9e77)};

    private static CategoryPlot subplot(DefaultCategoryDataset data, ValueAxis axis) {
        var renderer = new BarRenderer();
        renderer.setBarPainter(new StandardBarPainter());
        renderer.setShadowVisible(false);
        renderer.setItemMargin(0.05);
        var plot = new CategoryPlot(data, null, axis, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlineStroke(new BasicStroke(0.5f));
        return plot;
    }

    /** Colours by path name, the same in every subplot (a dataset without the baseline would shift them). */
    static void colour(JFreeChart chart, List<String> paths) {
        var combined = (CombinedDomainCategoryPlot) chart.getPlot();
        List<?> subplots = combined.getSubplots();
        for (Object o : subplots) {
            CategoryPlot p = (CategoryPlot) o;
            var data = p.getDataset();
            for (int s = 0; s < data.getRowCount(); s++) {
                int i = paths.indexOf((String) data.getRowKey(s));
                p.getRenderer().setSeriesPaint(s, COLORS[Math.max(0, i) % COLORS.length]);
            }
            if (o != subplots.get(1)) p.getRenderer().setDefaultSeriesVisibleInLegend(false); // the rate subplot has every path
        }
    }

    static void png(JFreeChart chart, Path file) throws IOException {
        ChartUtils.saveChartAsPNG(file.toFile(), chart, WIDTH, HEIGHT);
    }

    static void svg(JFreeChart chart, Path file) throws IOException {
        var g = new SVGGraphics2D(WIDTH, HEIGHT);
        chart.draw(g, new Rectangle(0, 0, WIDTH, HEIGHT));
        Files.writeString(file, g.getSVGDocument());
    }
}
