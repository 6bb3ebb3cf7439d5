#!/usr/bin/env python3
# Tutorial 3 (publish/subscribe), subscriber: exclusive server-named queue bound to 'logs'.
# Prints READY once bound; after EXPECT messages waits GRACE s for extras, then exits 0;
# exits 1 after 10 s without EXPECT messages.
import os
import sys
import pika

EXPECT = int(os.environ.get('EXPECT', '1'))
GRACE = float(os.environ.get('GRACE', '0.5'))

connection = pika.BlockingConnection(
    pika.ConnectionParameters('localhost', port=int(os.environ['AMQP_PORT'])))
channel = connection.channel()

channel.exchange_declare(exchange='logs', exchange_type='fanout')

result = channel.queue_declare(queue='', exclusive=True)
queue_name = result.method.queue

channel.queue_bind(exchange='logs', queue=queue_name)

received = []


def callback(ch, method, properties, body):
    print(" [x] %s" % body.decode())
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
