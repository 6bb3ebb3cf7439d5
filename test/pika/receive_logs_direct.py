#!/usr/bin/env python3
# Tutorial 4 (routing), subscriber: binds an exclusive queue to 'direct_logs' for each
# severity argument. Prints "<routing key>|<body>" per message. READY/EXPECT/GRACE as
# in receive_logs.py.
import os
import sys
import pika

EXPECT = int(os.environ.get('EXPECT', '1'))
GRACE = float(os.environ.get('GRACE', '0.5'))

connection = pika.BlockingConnection(
    pika.ConnectionParameters('localhost', port=int(os.environ['AMQP_PORT'])))
channel = connection.channel()

channel.exchange_declare(exchange='direct_logs', exchange_type='direct')

result = channel.queue_declare(queue='', exclusive=True)
queue_name = result.method.queue

severities = sys.argv[1:]
if not severities:
    sys.stderr.write("Usage: %s [info] [warning] [error]\n" % sys.argv[0])
    sys.exit(1)

for severity in severities:
    channel.queue_bind(exchange='direct_logs', queue=queue_name, routing_key=severity)

received = []


def callback(ch, method, properties, body):
    print("%s|%s" % (method.routing_key, body.decode()))
    received.append(body)
    if len(received) == EXPECT:
        connection.call_later(GRACE, channel.stop_consuming)


def timeout():
    print(" [!] timed out with %d of %d messages" % (len(received), EXPECT))
    channel.stop_consuming()


channel.basic_consume(queue=queue_name, on_message_callback=callback, auto_ack=True)
connection.call_later(10, timeout)
print("READY")
channel.start_consuming()
connection.close()
sys.exit(0 if len(received) >= EXPECT else 1)
