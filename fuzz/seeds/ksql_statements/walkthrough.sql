CREATE STREAM payments (name VARCHAR, amount INTEGER) WITH (kafka_topic='payments', value_format='json', partitions=1);
SELECT name, SUM(amount) FROM payments WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY name EMIT CHANGES;
CREATE TABLE payments_table AS SELECT name, count(*) AS cnt, sum(amount) AS sum, avg(amount) AS avg FROM payments GROUP BY name EMIT CHANGES;
SELECT * FROM payments_table;