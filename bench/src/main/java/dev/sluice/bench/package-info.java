/** JMH benchmarks; run with {@code make bench} or {@code java -cp 'bench/target/*:bench/target/lib/*' org.openjdk.jmh.Main}. */
package dev.sluice.bench;
