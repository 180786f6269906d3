"""Request ids, labels and the task list through the Client, against a stand-in
Transcoding server on loopback that records what it receives.

The real gateway's behaviour (the same id returns the same task) is checked by
clients/python/examples/transcode.py on the sandboxed gateway in CI.
"""

import datetime
import unittest
import uuid
from concurrent import futures

import grpc

from qencode_gateway_client import Client, new_request_id, query_pb2
from qencode_gateway_client.v1 import transcoding_pb2, transcoding_pb2_grpc


class _Ledger(transcoding_pb2_grpc.TranscodingServicer):
    """Five tasks t4..t0 (newest first), pages of `page_size`; remembers the requests."""

    def __init__(self):
        self.requests = []

    def Transcode(self, request, context):
        self.requests.append(request)
        return transcoding_pb2.TranscodeResponse(task_token="t9")

    def CreateTask(self, request, context):
        self.requests.append(request)
        return transcoding_pb2.CreateTaskResponse(task_token="t8")

    def GetTask(self, request, context):
        return transcoding_pb2.GetTaskResponse(
            task=transcoding_pb2.TaskRecord(task_token=request.task_token, request_id="r1", labels={"env": "prod"})
        )

    def ListTasks(self, request, context):
        self.requests.append(request)
        tokens = [f"t{i}" for i in range(4, -1, -1)]
        start = int(request.page_token or 0)
        end = start + (request.page_size or 50)
        return transcoding_pb2.ListTasksResponse(
            tasks=[transcoding_pb2.TaskRecord(task_token=t) for t in tokens[start:end]],
            next_page_token=str(end) if end < len(tokens) else "",
        )


class Tasks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ledger = _Ledger()
        cls.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        transcoding_pb2_grpc.add_TranscodingServicer_to_server(cls.ledger, cls.server)
        port = cls.server.add_insecure_port("127.0.0.1:0")
        cls.server.start()
        cls.client = Client(f"127.0.0.1:{port}", timeout=10)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.stop(None)

    def setUp(self):
        self.ledger.requests.clear()

    def test_request_ids_are_uuid4(self):
        first, second = new_request_id(), new_request_id()
        self.assertEqual(uuid.UUID(first).version, 4)
        self.assertNotEqual(first, second)

    def test_request_id_and_labels_are_sent(self):
        query = query_pb2.TranscodingQuery(source="https://example.com/a.mp4", format=[query_pb2.Format(output="mp4")])
        self.client.transcode(query, request_id="r-1", labels={"env": "prod"})
        self.client.create_task(request_id="r-2", labels={"team": "video"})
        transcode, create = self.ledger.requests
        self.assertEqual((transcode.request_id, dict(transcode.labels)), ("r-1", {"env": "prod"}))
        self.assertEqual((create.request_id, dict(create.labels)), ("r-2", {"team": "video"}))

    def test_get_task(self):
        record = self.client.get_task("t3")
        self.assertEqual((record.task_token, record.request_id, dict(record.labels)), ("t3", "r1", {"env": "prod"}))

    def test_one_page_and_every_page(self):
        page = self.client.list_tasks(page_size=2)
        self.assertEqual([t.task_token for t in page.tasks], ["t4", "t3"])
        self.assertEqual(page.next_page_token, "2")
        every = self.client.tasks(page_size=2, labels={"env": "prod"}, phase=transcoding_pb2.TASK_PHASE_ACTIVE)
        self.assertEqual([t.task_token for t in every], ["t4", "t3", "t2", "t1", "t0"])
        # Four requests: the first page, then three pages with the same filters.
        pages = self.ledger.requests[1:]
        self.assertEqual([r.page_token for r in pages], ["", "2", "4"])
        self.assertTrue(all(dict(r.labels) == {"env": "prod"} and r.phase == transcoding_pb2.TASK_PHASE_ACTIVE for r in pages))

    def test_times_are_timestamps(self):
        after = datetime.datetime(2025, 1, 31, 1, 2, 3, tzinfo=datetime.timezone.utc)
        self.client.list_tasks(created_after=after)
        self.assertEqual(self.ledger.requests[-1].created_after.seconds, 1738285323)
        with self.assertRaises(ValueError):
            self.client.list_tasks(created_before=datetime.datetime(2025, 1, 31))


if __name__ == "__main__":
    unittest.main()
