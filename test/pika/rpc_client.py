#!/usr/bin/env python3
# Tutorial 6 (RPC), client with an exclusive server-named callback queue.
import os
import sys
import time
import uuid
import pika


class FibonacciRpcClient(object):

    def __init__(self):
        self.connection = pika.BlockingConnection(
            pika.ConnectionParameters('localhost', port=int(os.environ['AMQP_PORT'])))

        self.channel = self.connection.channel()

        result = self.channel.queue_declare(queue='', exclusive=True)
        self.callback_queue = result.method.queue
        print(" [x] callback queue %s" % self.callback_queue)

        self.channel.basic_consume(
            queue=self.callback_queue,
            on_message_callback=self.on_response,
            auto_ack=True)

        self.response = None
        self.corr_id = None
        self.mismatched = 0

    def on_response(self, ch, method, props, body):
        if self.corr_id == props.correlation_id:
            self.response = body
        else:
            self.mismatched += 1

    def call(self, n, timeout=10):
        self.response = None
        self.corr_id = str(uuid.uuid4())
        self.channel.basic_publish(
            exchange='',
            routing_key='rpc_queue',
            properties=pika.BasicProperties(
                reply_to=self.callback_queue,
                correlation_id=self.corr_id,
            ),
            body=str(n))
        deadline = time.monotonic() + timeout
        while self.response is None and time.monotonic() < deadline:
            self.connection.process_data_events(time_limit=0.2)
        if self.response is None:
            return None
        return int(self.response)


fibonacci_rpc = FibonacciRpcClient()

print(" [x] Requesting fib(10)")
response = fibonacci_rpc.call(10)
if response is None:
    print(" [!] no response")
    sys.exit(1)
print(" [.] Got %r" % response)
print("correlation_id matched=%s mismatched=%d" % (True, fibonacci_rpc.mismatched))
fibonacci_rpc.connection.close()
sys.exit(0 if fibonacci_rpc.mismatched == 0 else 1)
