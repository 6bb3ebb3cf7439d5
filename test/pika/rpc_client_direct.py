#!/usr/bin/env python3
# RPC client using direct reply-to (amq.rabbitmq.reply-to).
import os
import sys
import time
import uuid
import pika

connection = pika.BlockingConnection(
    pika.ConnectionParameters('localhost', port=int(os.environ['AMQP_PORT'])))
channel = connection.channel()

state = {'response': None, 'props': None, 'routing_key': None}
corr_id = str(uuid.uuid4())


def on_response(ch, method, props, body):
    state['response'] = body
    state['props'] = props
    state['routing_key'] = method.routing_key


# Must consume from the pseudo-queue (no-ack) before publishing with it as reply_to.
channel.basic_consume(
    queue='amq.rabbitmq.reply-to',
    on_message_callback=on_response,
    auto_ack=True)

print(" [x] Requesting fib(10)")
channel.basic_publish(
    exchange='',
    routing_key='rpc_queue',
    properties=pika.BasicProperties(
        reply_to='amq.rabbitmq.reply-to',
        correlation_id=corr_id,
    ),
    body='10')

deadline = time.monotonic() + 10
while state['response'] is None and time.monotonic() < deadline:
    connection.process_data_events(time_limit=0.2)
if state['response'] is None:
    print(" [!] no response")
    sys.exit(1)
print(" [.] Got %r" % int(state['response']))
print("correlation_id matched=%s" % (state['props'].correlation_id == corr_id))
print("routing_key=%s" % state['routing_key'])
connection.close()
sys.exit(0 if state['props'].correlation_id == corr_id else 1)
