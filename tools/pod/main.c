// sluice-pod: dispatches to the subcommand (see pod.h).
#include "pod.h"

const char *g_prog = "sluice-pod";

void oom(void) {
    fprintf(stderr, "%s: out of memory\n", g_prog);
    exit(1);
}

static void usage(void) {
    fprintf(stderr,
            "usage: sluice-pod serve --name NS/POD [--tcp P1,P2,...] [--udp P1,P2,...]\n"
            "       sluice-pod probe [--timeout-ms N] [--proto tcp|udp] [--size B] [--unconnected] [--v4mapped] IPv4:PORT...\n"
            "       sluice-pod http --to IPv4:PORT [--path P] [--host H] [--method M] [--timeout-ms N]\n"
            "       sluice-pod bench --mode rr|crr|stream --proto tcp|udp --to IPv4:PORT --seconds S [--size B] [--conns C]\n"
            "       sluice-pod hold --to IPv4:PORT --seconds S [--interval-ms I]\n"
            "       sluice-pod craft --dst IPv4 --proto tcp|udp|sctp|icmp [--src IPv4] [--sport N] [--dport N]\n"
            "                        [--flags FSRPAU] [--icmp-type T] [--icmp-code C]\n"
            "                        [--inner-src IPv4 --inner-dst IPv4 --inner-proto P [--inner-sport N] [--inner-dport N]]\n"
            "                        [--payload TEXT | --size B] [--id N] [--ttl N] [--df]\n"
            "                        [--frag-offset BYTES [--mf] | --fragment BYTES] [--truncate BYTES] [--bad-checksum]\n"
            "                        [--vxlan VNI --outer-dst IPv4 [--outer-src IPv4] [--outer-port 8472]]\n"
            "                        [--count N] [--interval-ms I]\n"
            "       sluice-pod sniff --proto tcp|udp|sctp|icmp --timeout-ms T [--port N] [--from IPv4] [--count N] [--link IFACE]\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "%s: command: expected serve, probe, http, bench, hold, craft or sniff\n", g_prog);
        usage();
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "serve")) return cmd_serve(argc - 2, argv + 2);
    if (!strcmp(cmd, "probe")) return cmd_probe(argc - 2, argv + 2);
    if (!strcmp(cmd, "http")) return cmd_http(argc - 2, argv + 2);
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 2, argv + 2);
    if (!strcmp(cmd, "hold")) return cmd_hold(argc - 2, argv + 2);
    if (!strcmp(cmd, "craft")) return cmd_craft(argc - 2, argv + 2);
    if (!strcmp(cmd, "sniff")) return cmd_sniff(argc - 2, argv + 2);
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) { usage(); return 0; }
    fprintf(stderr, "%s: command '%s': expected serve, probe, http, bench, hold, craft or sniff\n", g_prog, cmd);
    return 2;
}
